//! Reachability from small estates in the offline folder format, each with the exact rows AWS
//! semantics give (and a control that shows the test can fail where it matters).

mod network_support;

use network_support::{evidence, load_and_flatten, reachability, row, Net, Peer};
use secops_store::testing::TestDb;

const VPC: &str = "vpc-a";
const CIDR: &str = "10.0.0.0/16";

/// One VPC with an internet gateway, a NAT, and three subnets: public (default route to the
/// IGW, both families), private (default route to the NAT; the main table) and data.
fn base() -> Net {
    let mut net = Net::new();
    net.vpc(VPC, CIDR)
        .subnet("subnet-public", VPC, "10.0.1.0/24", Some("2001:db8:1::/64"))
        .subnet("subnet-private", VPC, "10.0.2.0/24", None)
        .subnet("subnet-data", VPC, "10.0.3.0/24", None)
        .internet_gateway("igw-a", VPC)
        .nat_gateway("nat-a", VPC, "subnet-public")
        .route_table("rtb-public", VPC, CIDR, false, &["subnet-public"], &[("0.0.0.0/0", "igw-a"), ("::/0", "igw-a")])
        .route_table("rtb-main", VPC, CIDR, true, &[], &[("0.0.0.0/0", "nat-a")]);
    net
}

/// [`base`] with the default NACL, open both ways, on its three subnets.
fn open_base() -> Net {
    let mut net = base();
    net.open_nacl("acl-default", VPC, &["subnet-public", "subnet-private", "subnet-data"]);
    net
}

fn group(net: &mut Net, id: &str) {
    net.security_group(id, VPC).egress_anywhere(id);
}

fn internet_rows(rows: &[network_support::Row]) -> Vec<network_support::Row> {
    rows.iter().filter(|r| r.0 == "internet").cloned().collect()
}

/// A group admitting the whole internet on one TCP port (and egress anywhere).
fn world_open(net: &mut Net, id: &str, port: i64) {
    group(net, id);
    net.ingress(id, "tcp", port, port, Peer::Cidr("0.0.0.0/0"));
}

/// The control of an exposure test: a host in the public subnet with a public address and
/// `group`, which is exposed on `port`; returns its row.
fn public_control(net: &mut Net, group: &str, port: i32) -> network_support::Row {
    net.instance("public", VPC, "subnet-public", "10.0.1.99", Some("198.51.100.99"), None, &[group]);
    row("internet", "eni-public", "tcp", Some((port, port)), "ipv4", "internet")
}

/// Flatten `net` in a fresh database and return its internet rows.
async fn exposure_of(net: &Net) -> Vec<network_support::Row> {
    let db = TestDb::new().await;
    let (snapshot, _) = load_and_flatten(&db.pool, net).await;
    internet_rows(&reachability(&db.pool, snapshot).await)
}

#[tokio::test]
async fn security_group_references_admit_the_members_of_the_named_group() {
    let db = TestDb::new().await;
    let mut net = open_base();
    for g in ["sg-web", "sg-app", "sg-other"] {
        group(&mut net, g);
    }
    let rule = net.ingress("sg-app", "tcp", 8080, 8080, Peer::Group("sg-web"));
    net.instance("web", VPC, "subnet-public", "10.0.1.10", None, None, &["sg-web"])
        .instance("app", VPC, "subnet-private", "10.0.2.10", None, None, &["sg-app"])
        .instance("other", VPC, "subnet-private", "10.0.2.11", None, None, &["sg-other"]);
    let (snapshot, summary) = load_and_flatten(&db.pool, &net).await;
    assert_eq!(
        reachability(&db.pool, snapshot).await,
        vec![row("eni-web", "eni-app", "tcp", Some((8080, 8080)), "ipv4", "vpc")]
    );
    let proof = evidence(&db.pool, snapshot, "eni-web", "eni-app").await;
    assert_eq!(proof["ingress"], rule.as_str());
    assert_eq!(proof["route"], "local");
    assert_eq!(
        proof["nacl"],
        serde_json::json!({"out": ["acl-default", 100], "in": ["acl-default", 100], "reply": "49152-65535"})
    );
    assert_eq!((summary.nodes, summary.reachability_rows, summary.findings), (4, 1, 0));
}

#[tokio::test]
async fn prefix_list_rules_admit_their_entries_only() {
    let db = TestDb::new().await;
    let mut net = open_base();
    net.prefix_list("pl-corp", &["10.0.1.0/25", "192.0.2.0/24"]);
    for g in ["sg-db", "sg-a", "sg-b"] {
        group(&mut net, g);
    }
    let rule = net.ingress("sg-db", "tcp", 5432, 5432, Peer::PrefixList("pl-corp"));
    net.instance("a", VPC, "subnet-public", "10.0.1.10", None, None, &["sg-a"])
        .instance("b", VPC, "subnet-public", "10.0.1.200", None, None, &["sg-b"])
        .instance("db", VPC, "subnet-data", "10.0.3.10", None, None, &["sg-db"]);
    let (snapshot, _) = load_and_flatten(&db.pool, &net).await;
    assert_eq!(
        reachability(&db.pool, snapshot).await,
        vec![row("eni-a", "eni-db", "tcp", Some((5432, 5432)), "ipv4", "vpc")]
    );
    assert_eq!(evidence(&db.pool, snapshot, "eni-a", "eni-db").await["ingress"], rule.as_str());
}

#[tokio::test]
async fn a_nacl_deny_overrides_a_security_group_allow() {
    let db = TestDb::new().await;
    let mut net = base();
    net.open_nacl("acl-default", VPC, &["subnet-public", "subnet-private"]);
    // The data subnet refuses SSH from the public subnet before it allows everything.
    net.nacl(
        "acl-data",
        VPC,
        false,
        &["subnet-data"],
        &[
            (50, false, "6", 22, 22, "10.0.1.0/24", false),
            (100, false, "-1", 0, 0, "0.0.0.0/0", true),
            (100, true, "-1", 0, 0, "0.0.0.0/0", true),
        ],
    );
    for g in ["sg-target", "sg-x", "sg-y"] {
        group(&mut net, g);
    }
    net.ingress("sg-target", "tcp", 20, 25, Peer::Cidr(CIDR));
    net.instance("target", VPC, "subnet-data", "10.0.3.10", None, None, &["sg-target"])
        .instance("x", VPC, "subnet-public", "10.0.1.10", None, None, &["sg-x"])
        .instance("y", VPC, "subnet-private", "10.0.2.10", None, None, &["sg-y"]);
    let (snapshot, _) = load_and_flatten(&db.pool, &net).await;
    assert_eq!(
        reachability(&db.pool, snapshot).await,
        vec![
            row("eni-x", "eni-target", "tcp", Some((20, 21)), "ipv4", "vpc"),
            row("eni-x", "eni-target", "tcp", Some((23, 25)), "ipv4", "vpc"),
            row("eni-y", "eni-target", "tcp", Some((20, 25)), "ipv4", "vpc"),
        ]
    );
}

#[tokio::test]
async fn a_nacl_that_blocks_the_ephemeral_return_path_blocks_the_connection() {
    let db = TestDb::new().await;
    let mut net = base();
    net.open_nacl("acl-default", VPC, &["subnet-public", "subnet-private"]);
    // Inbound HTTPS is allowed, but replies may only leave for port 443, not the client's
    // ephemeral port.
    net.nacl(
        "acl-data",
        VPC,
        false,
        &["subnet-data"],
        &[(100, false, "-1", 0, 0, "0.0.0.0/0", true), (100, true, "6", 443, 443, "0.0.0.0/0", true)],
    );
    for g in ["sg-target", "sg-x", "sg-z"] {
        group(&mut net, g);
    }
    net.ingress("sg-target", "tcp", 443, 443, Peer::Cidr(CIDR));
    net.instance("target", VPC, "subnet-data", "10.0.3.10", None, None, &["sg-target"])
        .instance("x", VPC, "subnet-private", "10.0.2.10", None, None, &["sg-x"])
        .instance("z", VPC, "subnet-data", "10.0.3.11", None, None, &["sg-z"]);
    let (snapshot, _) = load_and_flatten(&db.pool, &net).await;
    // Only the neighbour in the same subnet gets through: its traffic crosses no NACL.
    assert_eq!(
        reachability(&db.pool, snapshot).await,
        vec![row("eni-z", "eni-target", "tcp", Some((443, 443)), "ipv4", "vpc")]
    );
}

#[tokio::test]
async fn a_blocked_return_path_also_stops_internet_exposure() {
    let mut net = base();
    net.subnet("subnet-public-2", VPC, "10.0.4.0/24", None)
        .route_table("rtb-public-2", VPC, CIDR, false, &["subnet-public-2"], &[("0.0.0.0/0", "igw-a")])
        .open_nacl("acl-default", VPC, &["subnet-public", "subnet-private", "subnet-data"])
        .nacl(
            "acl-strict",
            VPC,
            false,
            &["subnet-public-2"],
            &[
                (100, false, "6", 443, 443, "0.0.0.0/0", true),
                (100, true, "6", 80, 80, "0.0.0.0/0", true),
                (110, true, "6", 443, 443, "0.0.0.0/0", true),
            ],
        );
    world_open(&mut net, "sg-web", 443);
    net.instance("blocked", VPC, "subnet-public-2", "10.0.4.10", Some("198.51.100.10"), None, &["sg-web"]);
    let control = public_control(&mut net, "sg-web", 443);
    assert_eq!(exposure_of(&net).await, vec![control]);
}

#[tokio::test]
async fn a_private_subnet_behind_a_nat_is_not_exposed() {
    let db = TestDb::new().await;
    let mut net = open_base();
    world_open(&mut net, "sg-ssh", 22);
    // Even with a public address, replies leave through the NAT: no way in.
    net.instance("private", VPC, "subnet-private", "10.0.2.10", Some("198.51.100.20"), None, &["sg-ssh"]);
    let control = public_control(&mut net, "sg-ssh", 22);
    let (snapshot, summary) = load_and_flatten(&db.pool, &net).await;
    assert_eq!(internet_rows(&reachability(&db.pool, snapshot).await), vec![control]);
    assert_eq!(summary.internet_exposed_nodes, 1);
    let proof = evidence(&db.pool, snapshot, "internet", "eni-public").await;
    assert_eq!(proof["address"], "198.51.100.99");
    assert_eq!(proof["route"], serde_json::json!({"table": "rtb-public", "to": "igw-a"}));
    assert_eq!(proof["nacl"], serde_json::json!({"in": ["acl-default", 100], "reply": "49152-65535"}));
}

#[tokio::test]
async fn a_public_ip_without_an_internet_gateway_route_is_not_exposed() {
    let mut net = base();
    net.subnet("subnet-isolated", VPC, "10.0.5.0/24", None)
        .route_table("rtb-isolated", VPC, CIDR, false, &["subnet-isolated"], &[])
        .open_nacl("acl-default", VPC, &["subnet-public", "subnet-private", "subnet-data", "subnet-isolated"]);
    world_open(&mut net, "sg-ssh", 22);
    net.instance("isolated", VPC, "subnet-isolated", "10.0.5.10", Some("198.51.100.30"), None, &["sg-ssh"]);
    let control = public_control(&mut net, "sg-ssh", 22);
    assert_eq!(exposure_of(&net).await, vec![control]);
}

/// A load balancer in the public subnets (443 from anywhere) forwarding to a private instance on
/// 8080, which admits only the load balancer's group; returns the estate, the load balancer's
/// ARN and the instance's rule admitting it.
fn load_balanced(internet_facing: bool) -> (Net, String, String) {
    let mut net = base();
    net.subnet("subnet-public-b", VPC, "10.0.6.0/24", None)
        .route_table("rtb-public-b", VPC, CIDR, false, &["subnet-public-b"], &[("0.0.0.0/0", "igw-a")])
        .open_nacl("acl-default", VPC, &["subnet-public", "subnet-public-b", "subnet-private", "subnet-data"]);
    net.security_group("sg-alb", VPC);
    net.ingress("sg-alb", "tcp", 443, 443, Peer::Cidr("0.0.0.0/0"));
    net.egress("sg-alb", "tcp", 8080, 8080, Peer::Group("sg-app"));
    group(&mut net, "sg-app");
    let from_alb = net.ingress("sg-app", "tcp", 8080, 8080, Peer::Group("sg-alb"));
    net.instance("app", VPC, "subnet-private", "10.0.2.10", None, None, &["sg-app"]);
    let subnets = ["subnet-public", "subnet-public-b"];
    let alb = net.application_load_balancer("web", VPC, internet_facing, &subnets, &["sg-alb"], 443, &["app"], 8080);
    (net, alb, from_alb)
}

#[tokio::test]
async fn an_internet_facing_load_balancer_exposes_the_private_instance_behind_it() {
    let db = TestDb::new().await;
    let (net, alb, from_alb) = load_balanced(true);
    let (snapshot, _) = load_and_flatten(&db.pool, &net).await;
    let mut expected = vec![
        row(&alb, "eni-app", "tcp", Some((8080, 8080)), "ipv4", "load_balancer"),
        // The instance may call the load balancer itself (its ingress admits everyone).
        row("eni-app", &alb, "tcp", Some((443, 443)), "ipv4", "vpc"),
        row("internet", &alb, "tcp", Some((443, 443)), "ipv4", "internet"),
        row("internet", "eni-app", "tcp", Some((443, 443)), "ipv4", "load_balancer"),
    ];
    expected.sort();
    assert_eq!(reachability(&db.pool, snapshot).await, expected);
    let proof = evidence(&db.pool, snapshot, "internet", "eni-app").await;
    assert_eq!(proof["via"]["load_balancer"], alb.as_str());
    assert_eq!(proof["via"]["target_port"], 8080);
    assert_eq!(proof["forward"]["ingress"], from_alb.as_str());
    assert_eq!(proof["exposure"]["route"], serde_json::json!({"table": "rtb-public", "to": "igw-a"}));

    // The same load balancer, internal: nothing from the internet.
    let (internal, _, _) = load_balanced(false);
    assert_eq!(exposure_of(&internal).await, vec![]);
}

#[tokio::test]
async fn ipv6_only_exposure() {
    let db = TestDb::new().await;
    let mut net = open_base();
    group(&mut net, "sg-v6");
    net.ingress("sg-v6", "tcp", 443, 443, Peer::Cidr("::/0"));
    net.instance("dual", VPC, "subnet-public", "10.0.1.10", Some("198.51.100.40"), Some("2001:db8:1::10"), &["sg-v6"]);
    let (snapshot, _) = load_and_flatten(&db.pool, &net).await;
    assert_eq!(
        reachability(&db.pool, snapshot).await,
        vec![row("internet", "eni-dual", "tcp", Some((443, 443)), "ipv6", "internet")]
    );
    assert_eq!(evidence(&db.pool, snapshot, "internet", "eni-dual").await["address"], "2001:db8:1::10");
}

#[tokio::test]
async fn a_three_hop_path_from_the_internet_ends_at_a_database() {
    let db = TestDb::new().await;
    let mut net = open_base();
    for g in ["sg-web", "sg-app", "sg-db"] {
        group(&mut net, g);
    }
    net.ingress("sg-web", "tcp", 443, 443, Peer::Cidr("0.0.0.0/0"));
    net.ingress("sg-app", "tcp", 8080, 8080, Peer::Group("sg-web"));
    net.ingress("sg-db", "tcp", 5432, 5432, Peer::Group("sg-app"));
    net.instance("web", VPC, "subnet-public", "10.0.1.10", Some("198.51.100.50"), None, &["sg-web"])
        .instance("app", VPC, "subnet-private", "10.0.2.10", None, None, &["sg-app"])
        .database("orders", VPC, "subnet-data", "10.0.3.10", &["sg-db"], false);
    let (snapshot, _) = load_and_flatten(&db.pool, &net).await;
    assert_eq!(
        reachability(&db.pool, snapshot).await,
        vec![
            // web's ingress admits every address, so app may call web too; the database
            // interface never starts connections and is no source.
            row("eni-app", "eni-rds-orders", "tcp", Some((5432, 5432)), "ipv4", "vpc"),
            row("eni-app", "eni-web", "tcp", Some((443, 443)), "ipv4", "vpc"),
            row("eni-web", "eni-app", "tcp", Some((8080, 8080)), "ipv4", "vpc"),
            row("internet", "eni-web", "tcp", Some((443, 443)), "ipv4", "internet"),
        ]
    );
    let client = db.pool.get().await.unwrap();
    let label = client
        .query_one("SELECT resource_type, resource_id FROM network_nodes WHERE snapshot_id = $1 AND node_id = 'eni-rds-orders'", &[&snapshot])
        .await
        .unwrap();
    assert_eq!(
        (label.get::<_, String>(0), label.get::<_, String>(1)),
        ("rds_db_instance".to_owned(), "orders".to_owned())
    );

    // The walk from the internet finds the database three hops in, each hop citing its row.
    let summary = secops_inventory::network::paths::store_paths(&db.pool, snapshot, 6).await.unwrap();
    assert_eq!((summary.internet_starts, summary.internet_paths), (1, 1));
    let path = client
        .query_one(
            "SELECT p.start_id, p.target_traits, p.hops, p.nodes, \
                    array(SELECT r.source_id || '>' || r.destination_id || ':' || r.to_port \
                          FROM unnest(p.reachability_ids) WITH ORDINALITY AS h(id, n) \
                          JOIN reachability r ON r.snapshot_id = p.snapshot_id AND r.id = h.id ORDER BY h.n) \
             FROM attack_paths p WHERE p.snapshot_id = $1 AND p.mode = 'internet'",
            &[&snapshot],
        )
        .await
        .unwrap();
    assert_eq!(path.get::<_, String>(0), "eni-web");
    assert_eq!(path.get::<_, Vec<String>>(1), ["database"]);
    assert_eq!(path.get::<_, i32>(2), 3);
    assert_eq!(path.get::<_, Vec<String>>(3), ["internet", "eni-web", "eni-app", "eni-rds-orders"]);
    assert_eq!(
        path.get::<_, Vec<String>>(4),
        ["internet>eni-web:443", "eni-web>eni-app:8080", "eni-app>eni-rds-orders:5432"]
    );
    // Two hops are not enough.
    let short = secops_inventory::network::paths::store_paths(&db.pool, snapshot, 2).await.unwrap();
    assert_eq!(short.internet_paths, 0);
    // A reconciliation finds both hosts without EDR: two hops now reach one of them (app; web is
    // the start), the default six the database too.
    let reconciled = secops_inventory::reconcile::reconcile_with(&db.pool, Some(snapshot), 2).await.unwrap();
    let paths = &reconciled["attack_paths"];
    assert_eq!((paths["max_hops"].as_u64(), paths["internet_paths"].as_u64()), (Some(2), Some(1)));
    let reconciled = secops_inventory::reconcile::reconcile(&db.pool, Some(snapshot)).await.unwrap();
    assert_eq!(reconciled["attack_paths"]["internet_paths"].as_u64(), Some(2));
    let refused = secops_inventory::reconcile::reconcile_with(&db.pool, Some(snapshot), 0).await.unwrap_err();
    assert_eq!(refused.class, secops_core::ErrorClass::InvalidInput, "{refused}");
}

#[tokio::test]
async fn dangling_references_are_findings_and_create_no_reachability() {
    let db = TestDb::new().await;
    let mut net = base();
    net.subnet("subnet-broken", VPC, "10.0.7.0/24", None)
        .route_table("rtb-broken", VPC, CIDR, false, &["subnet-broken"], &[("0.0.0.0/0", "igw-deleted")])
        .open_nacl("acl-default", VPC, &["subnet-public", "subnet-private", "subnet-data", "subnet-broken"]);
    for g in ["sg-x", "sg-g"] {
        group(&mut net, g);
    }
    let from_deleted_group = net.ingress("sg-x", "tcp", 22, 22, Peer::Group("sg-deleted"));
    let from_deleted_list = net.ingress("sg-x", "tcp", 80, 80, Peer::PrefixList("pl-deleted"));
    net.ingress("sg-x", "tcp", 443, 443, Peer::Cidr("0.0.0.0/0"));
    net.instance("x", VPC, "subnet-broken", "10.0.7.10", Some("198.51.100.60"), None, &["sg-x"]).instance(
        "g",
        VPC,
        "subnet-private",
        "10.0.2.10",
        None,
        None,
        &["sg-g"],
    );
    let (snapshot, summary) = load_and_flatten(&db.pool, &net).await;
    // The one valid rule still works inside the VPC; nothing comes from the internet (its route
    // goes to a gateway that is gone) and nothing from the references that do not resolve.
    assert_eq!(
        reachability(&db.pool, snapshot).await,
        vec![row("eni-g", "eni-x", "tcp", Some((443, 443)), "ipv4", "vpc")]
    );
    let client = db.pool.get().await.unwrap();
    let findings: Vec<(String, String, String)> = client
        .query("SELECT kind, resource_id, reference FROM network_findings WHERE snapshot_id = $1 ORDER BY kind, resource_id", &[&snapshot])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert_eq!(
        findings,
        vec![
            ("dangling_prefix_list_reference".into(), from_deleted_list, "pl-deleted".into()),
            ("dangling_security_group_reference".into(), from_deleted_group, "sg-deleted".into()),
            ("route_to_missing_gateway".into(), "rtb-broken".into(), "igw-deleted".into()),
        ]
    );
    assert_eq!(summary.findings, 3);
}

#[tokio::test]
async fn peering_carries_group_references_only_with_routes_both_ways() {
    let db = TestDb::new().await;
    let mut net = base();
    net.vpc("vpc-b", "10.1.0.0/16")
        .subnet("subnet-b1", "vpc-b", "10.1.1.0/24", None)
        .subnet("subnet-b2", "vpc-b", "10.1.2.0/24", None)
        .subnet("subnet-peer", VPC, "10.0.8.0/24", None)
        .peering("pcx-ab", VPC, "vpc-b")
        // subnet-peer sends vpc-b through the peering; in vpc-b only subnet-b1's table routes
        // back.
        .route_table("rtb-peer", VPC, CIDR, false, &["subnet-peer"], &[("10.1.0.0/16", "pcx-ab")])
        .route_table("rtb-b1", "vpc-b", "10.1.0.0/16", false, &["subnet-b1"], &[("10.0.0.0/16", "pcx-ab")])
        .route_table("rtb-b-main", "vpc-b", "10.1.0.0/16", true, &[], &[])
        .open_nacl("acl-default", VPC, &["subnet-public", "subnet-private", "subnet-data", "subnet-peer"])
        .open_nacl("acl-b", "vpc-b", &["subnet-b1", "subnet-b2"]);
    group(&mut net, "sg-a");
    net.security_group("sg-b", "vpc-b").egress_anywhere("sg-b");
    net.ingress("sg-b", "tcp", 5432, 5432, Peer::Group("sg-a"));
    net.instance("a1", VPC, "subnet-peer", "10.0.8.10", None, None, &["sg-a"])
        .instance("b1", "vpc-b", "subnet-b1", "10.1.1.10", None, None, &["sg-b"])
        .instance("b2", "vpc-b", "subnet-b2", "10.1.2.10", None, None, &["sg-b"]);
    let (snapshot, _) = load_and_flatten(&db.pool, &net).await;
    assert_eq!(
        reachability(&db.pool, snapshot).await,
        vec![row("eni-a1", "eni-b1", "tcp", Some((5432, 5432)), "ipv4", "peering")]
    );
    assert_eq!(evidence(&db.pool, snapshot, "eni-a1", "eni-b1").await["route"]["peering"], "pcx-ab");
}

#[tokio::test]
async fn group_references_do_not_cross_a_peering_between_regions() {
    let db = TestDb::new().await;
    // eu-west-1: vpc-a; us-west-2: vpc-w, peered with vpc-a and routed both ways.
    let mut here = Net::new();
    here.vpc(VPC, CIDR)
        .subnet("subnet-a", VPC, "10.0.1.0/24", None)
        .peering("pcx-aw", VPC, "vpc-w")
        .route_table("rtb-a", VPC, CIDR, true, &[], &[("10.9.0.0/16", "pcx-aw")])
        .open_nacl("acl-a", VPC, &["subnet-a"]);
    group(&mut here, "sg-a");
    here.instance("a1", VPC, "subnet-a", "10.0.1.10", None, None, &["sg-a"]);
    let mut there = Net::new();
    there
        .vpc("vpc-w", "10.9.0.0/16")
        .subnet("subnet-w", "vpc-w", "10.9.1.0/24", None)
        .peering("pcx-aw", VPC, "vpc-w")
        .route_table("rtb-w", "vpc-w", "10.9.0.0/16", true, &[], &[(CIDR, "pcx-aw")])
        .open_nacl("acl-w", "vpc-w", &["subnet-w"]);
    there.security_group("sg-w", "vpc-w").egress_anywhere("sg-w");
    // AWS refuses a group reference across regions; a CIDR rule works.
    there.ingress("sg-w", "tcp", 5432, 5432, Peer::Group("sg-a"));
    there.ingress("sg-w", "tcp", 22, 22, Peer::Cidr(CIDR));
    there.instance("w1", "vpc-w", "subnet-w", "10.9.1.10", None, None, &["sg-w"]);
    let dir = tempfile::tempdir().unwrap();
    here.write(dir.path());
    there.write_in(dir.path(), "us-west-2");
    let snapshot = secops_inventory::collect_from_dir(&db.pool, dir.path(), 2).await.unwrap();
    assert_eq!(snapshot.status, "complete");
    secops_inventory::network::flatten_snapshot(&db.pool, snapshot.snapshot_id).await.unwrap();
    assert_eq!(
        reachability(&db.pool, snapshot.snapshot_id).await,
        vec![row("eni-a1", "eni-w1", "tcp", Some((22, 22)), "ipv4", "peering")]
    );
}

#[tokio::test]
async fn flattening_again_replaces_the_earlier_result() {
    let db = TestDb::new().await;
    let mut net = open_base();
    group(&mut net, "sg-web");
    net.ingress("sg-web", "tcp", 443, 443, Peer::Cidr("0.0.0.0/0"));
    net.instance("web", VPC, "subnet-public", "10.0.1.10", Some("198.51.100.70"), None, &["sg-web"]);
    let (snapshot, first) = load_and_flatten(&db.pool, &net).await;
    let again = secops_inventory::network::flatten_snapshot(&db.pool, snapshot).await.unwrap();
    assert_eq!((first.reachability_rows, again.reachability_rows), (1, 1));
    assert_eq!(reachability(&db.pool, snapshot).await.len(), 1);
    let error = secops_inventory::network::flatten_snapshot(&db.pool, snapshot + 1000).await.unwrap_err();
    assert!(error.to_string().contains("does not exist"), "{error}");
}
