//! The context catalogue on a real PostgreSQL with a small generated estate: for a finding of
//! each source, the queries that apply return the rows the inventory tables say they should;
//! the tools refuse what is not in the catalogue or breaks a schema, and run nothing then.

mod support;

use secops_triage::context::{gather, query, run_tool, tool_specs, Context, ToolError, MAX_ROWS};
use secops_triage::selection::from_row;
use secops_triage::{SecurityFinding, Source};
use serde_json::{json, Value};
use tokio_postgres::Client;

const COLUMNS: &str = "source, id, product_arn, account_id, region, kind, title, severity, severity_normalized, \
                       resource_type, resource_id, environment, observed_at, penalty_score, raw";

/// The first finding of `source` (by id) whose row satisfies `condition` (fixed SQL of this file).
async fn pick(db: &Client, source: Source, condition: &str) -> SecurityFinding {
    let sql =
        format!("SELECT {COLUMNS} FROM security_findings WHERE source = $1 AND ({condition}) ORDER BY id LIMIT 1");
    let row = db
        .query_opt(&sql, &[&source.as_str()])
        .await
        .expect("security_findings reads")
        .unwrap_or_else(|| panic!("the estate has a {source} finding where {condition}"));
    from_row(&row).expect("a finding row")
}

fn names(c: &Context) -> Vec<&str> {
    c.items.iter().map(|i| i.query.as_str()).collect()
}

fn rows<'a>(c: &'a Context, name: &str) -> &'a [Value] {
    &c.item(name).unwrap_or_else(|| panic!("{name} ran: {:?}", names(c))).rows
}

fn total(c: &Context, name: &str) -> usize {
    c.item(name).unwrap_or_else(|| panic!("{name} ran")).total_rows
}

async fn count(db: &Client, sql: &str, params: &[&(dyn tokio_postgres::types::ToSql + Sync)]) -> i64 {
    db.query_one(sql, params).await.unwrap_or_else(|e| panic!("{sql}: {e}")).get(0)
}

/// The instance id in a finding's resource id (`i-…` or an EC2 instance ARN).
fn instance_of(f: &SecurityFinding) -> String {
    let id = f.resource_id.as_deref().expect("a resource id");
    id.rsplit('/').next().unwrap_or(id).to_owned()
}

/// What every instance finding's context must agree with: the instance's own record, its EDR
/// row, its exposure rows, its attack paths, its related instances, its account.
async fn check_instance_context(db: &Client, f: &SecurityFinding, c: &Context) {
    let instance = instance_of(f);
    assert!(instance.starts_with("i-"), "{instance}");
    assert_eq!(
        names(c),
        [
            "resource",
            "related_resources",
            "edr_status",
            "exposure",
            "attack_paths",
            "similar_findings",
            "resource_findings",
            "open_tickets",
            "account"
        ],
        "{}",
        f.id
    );
    let resource = &rows(c, query::RESOURCE)[0];
    assert_eq!(resource["resource_kind"], "instance");
    assert_eq!(resource["id"], instance.as_str());
    let (vpc, env): (Option<String>, Option<String>) = {
        let r = db
            .query_one(
                "SELECT i.vpc_id, coalesce(i.environment, v.environment) FROM ec2_instances i
                 LEFT JOIN ec2_vpcs v ON v.snapshot_id = i.snapshot_id AND v.vpc_id = i.vpc_id AND v.account_id = i.account_id
                 WHERE i.snapshot_id = current_inventory_snapshot() AND i.instance_id = $1",
                &[&instance],
            )
            .await
            .expect("the instance");
        (r.get(0), r.get(1))
    };
    assert_eq!(resource["vpc_id"].as_str(), vpc.as_deref());
    assert_eq!(resource["environment"].as_str(), env.as_deref());
    assert_eq!(resource["environment"].as_str(), f.environment.as_deref(), "the view and the query agree");

    let edr: String = db
        .query_one(
            "SELECT status FROM edr_instances WHERE snapshot_id = current_inventory_snapshot() AND instance_id = $1",
            &[&instance],
        )
        .await
        .expect("an EDR row")
        .get(0);
    assert_eq!(rows(c, query::EDR_STATUS).len(), 1);
    assert_eq!(rows(c, query::EDR_STATUS)[0]["status"], edr.as_str());

    let exposed = count(db, "SELECT count(*) FROM exposure WHERE resource = $1", &[&instance]).await;
    assert_eq!(total(c, query::EXPOSURE) as i64, exposed);
    assert!(rows(c, query::EXPOSURE).iter().all(|r| r["resource"] == instance.as_str()));

    let nodes =
        "SELECT node_id FROM network_nodes WHERE snapshot_id = current_inventory_snapshot() AND resource_id = $1";
    let from = count(db, &format!("SELECT count(*) FROM attack_paths WHERE snapshot_id = current_inventory_snapshot() AND start_id IN ({nodes})"), &[&instance]).await;
    let to = count(db, &format!("SELECT count(*) FROM attack_paths WHERE snapshot_id = current_inventory_snapshot() AND target_id IN ({nodes})"), &[&instance]).await;
    let summary = &rows(c, query::ATTACK_PATHS)[0];
    assert_eq!(summary["kind"], "summary");
    assert_eq!(summary["paths_from_resource"].as_i64(), Some(from));
    assert_eq!(summary["paths_to_resource"].as_i64(), Some(to));

    let related = count(
        db,
        "SELECT count(*) FROM ec2_instances o, ec2_instances s
         WHERE s.snapshot_id = current_inventory_snapshot() AND o.snapshot_id = s.snapshot_id AND s.instance_id = $1
           AND o.instance_id <> s.instance_id AND o.account_id = s.account_id AND o.region = s.region
           AND is_live_instance_state(o.state)
           AND (o.asg_name = s.asg_name OR o.eks_cluster = s.eks_cluster OR o.vpc_id = s.vpc_id)",
        &[&instance],
    )
    .await;
    assert_eq!(total(c, query::RELATED_RESOURCES) as i64, related);
    assert!(rows(c, query::RELATED_RESOURCES).len() <= MAX_ROWS);
    for r in rows(c, query::RELATED_RESOURCES) {
        match r["relation"].as_str() {
            Some("same_group") => assert_eq!(r["asg_name"], resource["asg_name"]),
            Some("same_cluster") => assert_eq!(r["eks_cluster"], resource["eks_cluster"]),
            Some("same_vpc") => assert_eq!(r["vpc_id"], resource["vpc_id"]),
            other => panic!("unexpected relation {other:?}"),
        }
        assert_ne!(r["id"], instance.as_str());
    }

    let account = &rows(c, query::ACCOUNT)[0];
    assert_eq!(account["account_id"].as_str(), f.account_id.as_deref());
    let live = count(
        db,
        "SELECT count(*) FROM ec2_instances WHERE snapshot_id = current_inventory_snapshot() AND account_id = $1 AND is_live_instance_state(state)",
        &[&f.account_id],
    )
    .await;
    assert_eq!(account["live_instances"].as_i64(), Some(live));

    let same_kind = count(
        db,
        "SELECT count(*) FROM security_findings WHERE kind = $1 AND NOT (source = $2 AND id = $3)",
        &[&f.kind, &f.source.as_str(), &f.id],
    )
    .await;
    let open: i64 = rows(c, query::SIMILAR_FINDINGS)
        .iter()
        .filter(|r| r["section"] == "open_findings")
        .map(|r| r["findings"].as_i64().unwrap_or_default())
        .sum();
    assert_eq!(open, same_kind, "{}", f.kind);

    // Other findings on the instance, however their source spells it (an id or an ARN).
    let others = count(
        db,
        "SELECT count(*) FROM security_findings
         WHERE (resource_id = $1 OR resource_id LIKE 'arn:aws:ec2:%:instance/' || $1) AND NOT (source = $2 AND id = $3)",
        &[&instance, &f.source.as_str(), &f.id],
    )
    .await;
    assert_eq!(total(c, query::RESOURCE_FINDINGS) as i64, others);
    assert!(rows(c, query::RESOURCE_FINDINGS).iter().all(|r| r["id"] != f.id.as_str()));
}

#[tokio::test]
async fn gather_answers_for_a_finding_of_each_source() {
    let (test_db, _estate) = support::estate_db().await;
    let db = test_db.pool.get().await.expect("a connection");
    // The analyst reads as the read-only role: every catalogue query must work under it.
    db.batch_execute("SET ROLE secops_readonly").await.expect("the read-only role");

    let instance_findings = [
        pick(&db, Source::SecurityHub, "resource_type = 'AwsEc2Instance'").await,
        pick(&db, Source::Inspector, "resource_type = 'AWS_EC2_INSTANCE'").await,
        pick(&db, Source::GuardDuty, "resource_type = 'AwsEc2Instance'").await,
        pick(&db, Source::Falcon, "resource_type = 'AwsEc2Instance'").await,
        pick(&db, Source::Exposure, "resource_id LIKE 'i-%'").await,
    ];
    for f in &instance_findings {
        let c = gather(&db, f).await.unwrap_or_else(|e| panic!("gather {}: {e}", f.id));
        check_instance_context(&db, f, &c).await;
    }
    // An exposure finding's resource is reachable from the internet, by definition.
    let exposure = gather(&db, &instance_findings[4]).await.expect("gather");
    assert!(total(&exposure, query::EXPOSURE) > 0);
    assert!(rows(&exposure, query::ATTACK_PATHS).iter().any(|r| r["kind"] == "start" && r["mode"] == "internet"));

    // A bucket: neither instance nor network queries (the network model has no buckets).
    let bucket = pick(&db, Source::SecurityHub, "resource_type = 'AwsS3Bucket'").await;
    let c = gather(&db, &bucket).await.expect("gather");
    assert_eq!(names(&c), ["resource", "similar_findings", "resource_findings", "open_tickets", "account"]);
    let name = bucket.resource_id.as_deref().and_then(|r| r.strip_prefix("arn:aws:s3:::")).expect("an S3 ARN");
    assert_eq!(rows(&c, query::RESOURCE)[0]["resource_kind"], "s3_bucket");
    assert_eq!(rows(&c, query::RESOURCE)[0]["id"], name);
    let public: bool = db
        .query_one(
            "SELECT coalesce(bool_or(check_name = 'public_access' AND NOT passed), false) FROM posture_results
             WHERE snapshot_id = current_inventory_snapshot() AND resource_type = 's3_bucket' AND resource_id = $1",
            &[&name],
        )
        .await
        .expect("posture")
        .get(0);
    assert_eq!(rows(&c, query::RESOURCE)[0]["public"], public);

    // An RDS instance by its ARN, and a load balancer's exposure by its ARN.
    let rds = pick(&db, Source::SecurityHub, "resource_type = 'AwsRdsDbInstance'").await;
    let c = gather(&db, &rds).await.expect("gather");
    let r = &rows(&c, query::RESOURCE)[0];
    assert_eq!(r["resource_kind"], "rds_instance");
    assert_eq!(r["arn"].as_str(), rds.resource_id.as_deref());
    let lb = pick(&db, Source::Exposure, "resource_type = 'load_balancer'").await;
    let c = gather(&db, &lb).await.expect("gather");
    assert_eq!(rows(&c, query::RESOURCE)[0]["resource_kind"], "load_balancer");
    let lb_rows = count(&db, "SELECT count(*) FROM exposure WHERE resource = $1", &[&lb.resource_id]).await;
    assert!(lb_rows > 0);
    assert_eq!(total(&c, query::EXPOSURE) as i64, lb_rows);

    // A container image: its repository, and the other findings on the repository's images.
    let image = pick(&db, Source::Inspector, "resource_type = 'AWS_ECR_CONTAINER_IMAGE'").await;
    let c = gather(&db, &image).await.expect("gather");
    assert_eq!(names(&c), ["resource", "similar_findings", "resource_findings", "open_tickets", "account"]);
    let arn = image.resource_id.clone().expect("an image ARN");
    let repository = arn.split_once("/sha256:").map(|(r, _)| r.to_owned()).expect("a digest in the ARN");
    let name = repository.split_once(":repository/").map(|(_, n)| n.to_owned()).expect("a repository name");
    assert_eq!(rows(&c, query::RESOURCE)[0]["resource_kind"], "ecr_repository");
    assert_eq!(rows(&c, query::RESOURCE)[0]["id"], name.as_str());
    let same_repository = count(
        &db,
        "SELECT count(*) FROM security_findings WHERE (resource_id LIKE $1 || '/%' OR resource_id = $1) AND id <> $2",
        &[&repository, &image.id],
    )
    .await;
    assert_eq!(total(&c, query::RESOURCE_FINDINGS) as i64, same_repository);

    // A security group: what uses it.
    let group = pick(&db, Source::SecurityHub, "resource_id LIKE '%:security-group/sg-%'").await;
    let c = gather(&db, &group).await.expect("gather");
    let sg = group.resource_id.as_deref().and_then(|r| r.rsplit('/').next()).expect("a group id");
    assert_eq!(rows(&c, query::RESOURCE)[0]["id"], sg);
    let users = count(
        &db,
        "SELECT (SELECT count(*) FROM ec2_instances WHERE snapshot_id = current_inventory_snapshot() AND is_live_instance_state(state) AND $1 = ANY (security_group_ids))
              + (SELECT count(*) FROM rds_db_instances WHERE snapshot_id = current_inventory_snapshot() AND $1 = ANY (security_group_ids))
              + (SELECT count(*) FROM elb_load_balancers WHERE snapshot_id = current_inventory_snapshot() AND $1 = ANY (security_group_ids))",
        &[&sg],
    )
    .await;
    assert_eq!(total(&c, query::RELATED_RESOURCES) as i64, users);
    assert!(rows(&c, query::RELATED_RESOURCES).iter().all(|r| r["relation"] == "uses_security_group"));
}

#[tokio::test]
async fn tickets_earlier_reports_and_the_account_cache_show_up() {
    let (test_db, _estate) = support::estate_db().await;
    let db = test_db.pool.get().await.expect("a connection");
    let f = pick(
        &db,
        Source::GuardDuty,
        "resource_type = 'AwsEc2Instance'
         AND kind IN (SELECT kind FROM security_findings WHERE source = 'guardduty' GROUP BY kind HAVING count(*) > 1)",
    )
    .await;
    let other =
        pick(&db, Source::GuardDuty, &format!("kind = '{}' AND id <> '{}'", f.kind.replace('\'', "''"), f.id)).await;
    let account = f.account_id.clone().expect("an account");
    db.batch_execute(&format!(
        "INSERT INTO tickets (finding_id, ticket_id, kind, account_id, control_id, title, severity, penalty_score, opened_at)
         VALUES ('{id}', 'SEC-1', 'team', '{account}', NULL, 't', 'HIGH', 1, now());
         INSERT INTO tickets (finding_id, ticket_id, kind, account_id, control_id, title, severity, penalty_score, opened_at, closed_at)
         VALUES ('old-1', 'SEC-0', 'team', '{account}', '{kind}', 't', 'HIGH', 1, now() - interval '9 days', now() - interval '2 days');
         INSERT INTO triage_runs (execution_id, since, provider, concurrency, candidates, excluded, already_ticketed, over_limit, selected)
         VALUES ('run-1', now() - interval '1 day', 'offline', 1, 1, 0, 0, 0, 1);
         INSERT INTO triage_reports (execution_id, source, finding_id, position, title, severity, penalty_score, status, verdict, risk_score, report, ticket_id)
         VALUES ('run-1', 'guardduty', '{other}', 0, 't', 'HIGH', 1, 'analysed', 'true_positive', 4, '{{}}', 'SEC-7');
         INSERT INTO account_cache (account_id, data, expires_at)
         VALUES ('{account}', '{{\"name\": \"payments-prod\", \"team\": \"payments\", \"environment\": \"PROD\"}}', now() + interval '1 day');",
        id = f.id,
        kind = f.kind.replace('\'', "''"),
        other = other.id,
    ))
    .await
    .expect("fixtures");
    db.batch_execute("SET ROLE secops_readonly").await.expect("the read-only role");

    let c = gather(&db, &f).await.expect("gather");
    let tickets = rows(&c, query::OPEN_TICKETS);
    assert_eq!(tickets.len(), 1, "{tickets:?}");
    assert_eq!(tickets[0]["ticket_id"], "SEC-1");
    assert_eq!(tickets[0]["section"], "open_ticket");

    let similar = rows(&c, query::SIMILAR_FINDINGS);
    let earlier: Vec<&Value> = similar.iter().filter(|r| r["section"] == "earlier_report").collect();
    assert_eq!(earlier.len(), 1, "{similar:?}");
    assert_eq!((earlier[0]["verdict"].as_str(), earlier[0]["risk_score"].as_i64()), (Some("true_positive"), Some(4)));
    let closed: Vec<&Value> = similar.iter().filter(|r| r["section"] == "closed_ticket").collect();
    assert_eq!(closed.len(), 1);
    assert_eq!(closed[0]["ticket_id"], "SEC-0");

    let a = &rows(&c, query::ACCOUNT)[0];
    assert_eq!(
        (a["cached"].as_bool(), a["name"].as_str(), a["team"].as_str()),
        (Some(true), Some("payments-prod"), Some("payments"))
    );

    // The other finding's earlier report names a ticket on the same kind, not on this resource
    // unless it is the same instance.
    let c2 = gather(&db, &other).await.expect("gather");
    assert!(
        rows(&c2, query::SIMILAR_FINDINGS).iter().all(|r| r["finding_id"] != other.id.as_str()),
        "a finding is not similar to itself"
    );
}

#[tokio::test]
async fn run_tool_answers_like_gather_and_refuses_the_rest() {
    let (test_db, _estate) = support::estate_db().await;
    let db = test_db.pool.get().await.expect("a connection");
    db.batch_execute("SET ROLE secops_readonly").await.expect("the read-only role");
    let f = pick(&db, Source::Inspector, "resource_type = 'AWS_EC2_INSTANCE'").await;
    let instance = instance_of(&f);
    let gathered = gather(&db, &f).await.expect("gather");

    for (name, input) in [
        ("resource", json!({"resource_id": instance})),
        ("edr_status", json!({"instance_id": instance})),
        ("exposure", json!({"resource_id": instance})),
        ("attack_paths", json!({"resource_id": instance})),
        ("related_resources", json!({"resource_id": instance})),
        ("resource_findings", json!({"resource_id": instance})),
        ("similar_findings", json!({"kind": f.kind})),
        ("open_tickets", json!({})),
        ("account", json!({"account_id": f.account_id})),
    ] {
        let item = run_tool(&db, &f, name, &input).await.unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(item.query, name);
        let want = gathered.item(name).expect("gathered");
        assert_eq!((&item.rows, item.total_rows), (&want.rows, want.total_rows), "{name}");
    }
    // A related resource by its ARN spelling resolves to the same record.
    let arn = format!(
        "arn:aws:ec2:{}:{}:instance/{instance}",
        f.region.as_deref().unwrap_or(""),
        f.account_id.as_deref().unwrap_or("")
    );
    let by_arn = run_tool(&db, &f, "resource", &json!({"resource_id": arn})).await.expect("resource by ARN");
    assert_eq!(by_arn.rows, gathered.item("resource").expect("resource").rows);

    let before = count(&db, "SELECT count(*) FROM tickets", &[]).await;
    let refused = [
        ("execute_sql", json!({"sql": "DROP TABLE tickets"}), "unknown tool"),
        ("shell", json!({"command": "rm -rf /"}), "unknown tool"),
        ("", json!({}), "unknown tool"),
        ("Resource", json!({"resource_id": instance}), "unknown tool"),
        ("resource", json!({"resource_id": "x'; DROP TABLE tickets; --"}), "invalid input"),
        ("resource", json!({"resource_id": instance, "sql": "SELECT 1"}), "invalid input"),
        ("resource", json!({}), "invalid input"),
        ("resource", json!({"resource_id": 42}), "invalid input"),
        ("resource", json!("i-0123456789abcdef0"), "invalid input"),
        ("edr_status", json!({"instance_id": "i-0123; SELECT pg_sleep(10)"}), "invalid input"),
        ("edr_status", json!({"instance_id": "sg-0123456789abcdef0"}), "invalid input"),
        ("account", json!({"account_id": "1234"}), "invalid input"),
        ("account", json!({"account_id": "123456789012 OR 1=1"}), "invalid input"),
        ("similar_findings", json!({"kind": "a".repeat(129)}), "invalid input"),
        ("similar_findings", json!({"kind": "EC2.8'; --"}), "invalid input"),
        ("open_tickets", json!({"finding_id": "other"}), "invalid input"),
    ];
    for (name, input, expected) in refused {
        match run_tool(&db, &f, name, &input).await {
            Err(ToolError::Refused(message)) => {
                assert!(message.contains(expected), "{name} {input}: {message}");
                if expected == "unknown tool" {
                    assert!(message.contains("resource, related_resources"), "the refusal lists the tools: {message}");
                }
            }
            other => panic!("{name} {input} must be refused, got {other:?}"),
        }
    }
    assert_eq!(count(&db, "SELECT count(*) FROM tickets", &[]).await, before, "nothing ran");
    assert_eq!(tool_specs().len(), query::ALL.len());
}
