//! The live AWS collectors against moto_server on loopback: two accounts (the caller's and one
//! reached through AssumeRole, which moto switches to) and two regions, collected into a fresh
//! database and checked row by row.
//!
//! Harness-only routing (no product hooks): a test HTTP client strips the account-id host prefix
//! s3control puts in front of the loopback address, and sends requests signed for GuardDuty (which
//! moto cannot serve findings for) to a wiremock server.

mod aws_support;

use aws_support::*;
use secops_aws::testing::MotoServer;
use secops_inventory::sources::aws::cli_json::ToCliJson;
use secops_inventory::{collect, AwsEstate, CollectPlan};
use secops_store::testing::TestDb;
use serde_json::{json, Value};
fn tag(key: &str, value: &str) -> aws_sdk_ec2::types::Tag {
    aws_sdk_ec2::types::Tag::builder().key(key).value(value).build()
}

struct Network {
    vpc: String,
    /// Two subnets in two zones (a load balancer needs two).
    subnets: [String; 2],
    instance: String,
    web_sg: String,
    admin_sg: String,
    prefix_list: String,
    nacl: String,
    route_table: String,
    igw: String,
}

/// A VPC with groups (one rule referencing another group, one a prefix list), a NACL, a route
/// table through an internet gateway, and a tagged instance.
async fn network(config: &aws_config::SdkConfig, name: &str) -> Network {
    use aws_sdk_ec2::types::{IpPermission, PrefixListId, ResourceType, TagSpecification, UserIdGroupPair};
    let ec2 = aws_sdk_ec2::Client::new(config);
    let vpc = ec2.create_vpc().cidr_block("10.1.0.0/16").send().await.unwrap().vpc.unwrap().vpc_id.unwrap();
    let region = config.region().unwrap().to_string();
    let mut subnets = Vec::new();
    for (cidr, zone) in [("10.1.1.0/24", "a"), ("10.1.2.0/24", "b")] {
        let created = ec2
            .create_subnet()
            .vpc_id(&vpc)
            .cidr_block(cidr)
            .availability_zone(format!("{region}{zone}"))
            .send()
            .await
            .unwrap();
        subnets.push(created.subnet.unwrap().subnet_id.unwrap());
    }
    let subnet = subnets[0].clone();
    let sg = |n: &'static str| {
        let ec2 = ec2.clone();
        let vpc = vpc.clone();
        async move {
            ec2.create_security_group().group_name(n).description(n).vpc_id(vpc).send().await.unwrap().group_id.unwrap()
        }
    };
    let web_sg = sg("web").await;
    let admin_sg = sg("admin").await;
    let prefix_list = ec2
        .create_managed_prefix_list()
        .prefix_list_name(format!("{name}-office"))
        .address_family("IPv4")
        .max_entries(5)
        .entries(aws_sdk_ec2::types::AddPrefixListEntry::builder().cidr("203.0.113.0/24").description("office").build())
        .send()
        .await
        .unwrap()
        .prefix_list
        .unwrap()
        .prefix_list_id
        .unwrap();
    ec2.authorize_security_group_ingress()
        .group_id(&web_sg)
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(22)
                .to_port(22)
                .user_id_group_pairs(UserIdGroupPair::builder().group_id(&admin_sg).build())
                .build(),
        )
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(443)
                .to_port(443)
                .prefix_list_ids(PrefixListId::builder().prefix_list_id(&prefix_list).build())
                .build(),
        )
        .send()
        .await
        .unwrap();
    let nacl = ec2.create_network_acl().vpc_id(&vpc).send().await.unwrap().network_acl.unwrap().network_acl_id.unwrap();
    let igw =
        ec2.create_internet_gateway().send().await.unwrap().internet_gateway.unwrap().internet_gateway_id.unwrap();
    ec2.attach_internet_gateway().internet_gateway_id(&igw).vpc_id(&vpc).send().await.unwrap();
    let route_table =
        ec2.create_route_table().vpc_id(&vpc).send().await.unwrap().route_table.unwrap().route_table_id.unwrap();
    ec2.create_route()
        .route_table_id(&route_table)
        .destination_cidr_block("0.0.0.0/0")
        .gateway_id(&igw)
        .send()
        .await
        .unwrap();
    let instance = ec2
        .run_instances()
        .image_id(IMAGE)
        .instance_type(aws_sdk_ec2::types::InstanceType::T3Micro)
        .min_count(1)
        .max_count(1)
        .subnet_id(&subnet)
        .security_group_ids(&web_sg)
        .tag_specifications(
            TagSpecification::builder()
                .resource_type(ResourceType::Instance)
                .tags(tag("Name", name))
                .tags(tag("Environment", "prod"))
                .tags(tag("eks:cluster-name", "payments"))
                .build(),
        )
        .send()
        .await
        .unwrap()
        .instances
        .unwrap()
        .remove(0)
        .instance_id
        .unwrap();
    let subnets = [subnets[0].clone(), subnets[1].clone()];
    Network { vpc, subnets, instance, web_sg, admin_sg, prefix_list, nacl, route_table, igw }
}

async fn buckets(config: &aws_config::SdkConfig, prefix: &str, region: &str) {
    use aws_sdk_s3::types::{
        BucketLocationConstraint, BucketVersioningStatus, CreateBucketConfiguration, ServerSideEncryption,
        ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
        VersioningConfiguration,
    };
    let s3 = aws_sdk_s3::Client::new(config);
    for suffix in ["public", "encrypted", "versioned"] {
        let mut create = s3.create_bucket().bucket(format!("{prefix}-{suffix}"));
        if region != EAST {
            create = create.create_bucket_configuration(
                CreateBucketConfiguration::builder()
                    .location_constraint(BucketLocationConstraint::from(region))
                    .build(),
            );
        }
        create.send().await.unwrap();
    }
    let policy = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*",
        "Action": "s3:GetObject", "Resource": format!("arn:aws:s3:::{prefix}-public/*")}]});
    s3.put_bucket_policy().bucket(format!("{prefix}-public")).policy(policy.to_string()).send().await.unwrap();
    s3.put_bucket_encryption()
        .bucket(format!("{prefix}-encrypted"))
        .server_side_encryption_configuration(
            ServerSideEncryptionConfiguration::builder()
                .rules(
                    ServerSideEncryptionRule::builder()
                        .apply_server_side_encryption_by_default(
                            ServerSideEncryptionByDefault::builder()
                                .sse_algorithm(ServerSideEncryption::AwsKms)
                                .build()
                                .unwrap(),
                        )
                        .build(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    s3.put_bucket_versioning()
        .bucket(format!("{prefix}-versioned"))
        .versioning_configuration(VersioningConfiguration::builder().status(BucketVersioningStatus::Enabled).build())
        .send()
        .await
        .unwrap();
}

async fn moto_post(moto: &MotoServer, path: &str, body: Value) {
    let response = reqwest::Client::new().post(format!("{}{path}", moto.endpoint)).json(&body).send().await.unwrap();
    assert!(response.status().is_success(), "{path}: {}", response.status());
}

async fn rows(db: &TestDb, sql: &str) -> Vec<tokio_postgres::Row> {
    db.pool.get().await.unwrap().query(sql, &[]).await.unwrap()
}

#[test]
fn collects_two_accounts_and_two_regions_into_one_complete_snapshot() {
    // The setup and the collection make one very large future; debug builds keep much of it on
    // the stack, more than the test thread's default.
    std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_stack_size(16 << 20)
                .enable_all()
                .build()
                .unwrap()
                .block_on(two_accounts_two_regions())
        })
        .unwrap()
        .join()
        .unwrap();
}

async fn two_accounts_two_regions() {
    let moto = MotoServer::start();
    let gd = guardduty_stub().await;
    let db = TestDb::new().await;
    let base = base_config(&moto, &gd, EAST).await;
    let home_east = session(&base, HOME, EAST).await;
    let home_west = session(&base, HOME, WEST).await;
    let member_east = session(&base, MEMBER, EAST).await;
    let member_west = session(&base, MEMBER, WEST).await;

    let home_net = network(&home_east, "home-east").await;
    let member_net = network(&member_west, "member-west").await;
    buckets(&home_east, "home", EAST).await;
    buckets(&member_east, "member", WEST).await;

    // RDS: an unencrypted public instance and a public manual snapshot, in the member's eu-west-1.
    let rds = aws_sdk_rds::Client::new(&member_west);
    rds.create_db_instance()
        .db_instance_identifier("orders")
        .db_instance_class("db.t3.micro")
        .engine("postgres")
        .master_username("admin")
        .master_user_password("not-a-real-password")
        .allocated_storage(20)
        .publicly_accessible(true)
        .storage_encrypted(false)
        .send()
        .await
        .unwrap();
    rds.create_db_snapshot()
        .db_instance_identifier("orders")
        .db_snapshot_identifier("orders-manual")
        .send()
        .await
        .unwrap();
    rds.modify_db_snapshot_attribute()
        .db_snapshot_identifier("orders-manual")
        .attribute_name("restore")
        .values_to_add("all")
        .send()
        .await
        .unwrap();

    // ELB with a listener forwarding to a target group of two instances, in the home account's
    // us-east-1 VPC.
    let ec2 = aws_sdk_ec2::Client::new(&home_east);
    let second_instance = ec2
        .run_instances()
        .image_id(IMAGE)
        .instance_type(aws_sdk_ec2::types::InstanceType::T3Micro)
        .min_count(1)
        .max_count(1)
        .subnet_id(&home_net.subnets[1])
        .security_group_ids(&home_net.web_sg)
        .send()
        .await
        .unwrap()
        .instances
        .unwrap()
        .remove(0)
        .instance_id
        .unwrap();
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&home_east);
    let lb_arn = elb
        .create_load_balancer()
        .name("web")
        .set_subnets(Some(home_net.subnets.to_vec()))
        .send()
        .await
        .unwrap()
        .load_balancers
        .unwrap()
        .remove(0)
        .load_balancer_arn
        .unwrap();
    let tg_arn = elb
        .create_target_group()
        .name("web-tg")
        .protocol(aws_sdk_elasticloadbalancingv2::types::ProtocolEnum::Http)
        .port(8080)
        .vpc_id(&home_net.vpc)
        .send()
        .await
        .unwrap()
        .target_groups
        .unwrap()
        .remove(0)
        .target_group_arn
        .unwrap();
    {
        use aws_sdk_elasticloadbalancingv2::types::TargetDescription;
        let target = |id: &str, port: i32| TargetDescription::builder().id(id).port(port).build();
        elb.register_targets()
            .target_group_arn(&tg_arn)
            .targets(target(&home_net.instance, 8080))
            .targets(target(&second_instance, 8081))
            .send()
            .await
            .unwrap();
    }

    // Elastic IPs in the home account's us-east-1: one on the first instance, one spare.
    let associated = ec2.allocate_address().domain(aws_sdk_ec2::types::DomainType::Vpc).send().await.unwrap();
    let spare = ec2.allocate_address().domain(aws_sdk_ec2::types::DomainType::Vpc).send().await.unwrap();
    let association = ec2
        .associate_address()
        .allocation_id(associated.allocation_id().unwrap())
        .instance_id(&home_net.instance)
        .send()
        .await
        .unwrap()
        .association_id
        .unwrap();
    let described = ec2.describe_instances().instance_ids(&home_net.instance).send().await.unwrap();
    let home_interface = &described.reservations()[0].instances()[0].network_interfaces()[0];
    let (home_eni, home_private_ip) = (
        home_interface.network_interface_id().unwrap().to_owned(),
        home_interface.private_ip_address().unwrap().to_owned(),
    );

    // An accepted peering between the home VPC and a second VPC of the same account and region.
    let peer_vpc = ec2.create_vpc().cidr_block("10.2.0.0/16").send().await.unwrap().vpc.unwrap().vpc_id.unwrap();
    let peering = ec2
        .create_vpc_peering_connection()
        .vpc_id(&home_net.vpc)
        .peer_vpc_id(&peer_vpc)
        .send()
        .await
        .unwrap()
        .vpc_peering_connection
        .unwrap()
        .vpc_peering_connection_id
        .unwrap();
    ec2.accept_vpc_peering_connection().vpc_peering_connection_id(&peering).send().await.unwrap();
    elb.create_listener()
        .load_balancer_arn(&lb_arn)
        .protocol(aws_sdk_elasticloadbalancingv2::types::ProtocolEnum::Http)
        .port(80)
        .default_actions(
            aws_sdk_elasticloadbalancingv2::types::Action::builder()
                .r#type(aws_sdk_elasticloadbalancingv2::types::ActionTypeEnum::Forward)
                .target_group_arn(&tg_arn)
                .build(),
        )
        .send()
        .await
        .unwrap();

    // CloudFront and Route 53 (global), in the home account.
    #[allow(deprecated)] // moto's CreateDistribution requires the legacy ForwardedValues/MinTTL settings.
    {
        use aws_sdk_cloudfront::types::*;
        let origin = Origin::builder()
            .id("site")
            .domain_name("home-public.s3.amazonaws.com")
            .s3_origin_config(S3OriginConfig::builder().origin_access_identity("").build())
            .build()
            .unwrap();
        let config = DistributionConfig::builder()
            .caller_reference("ref-1")
            .comment("site")
            .enabled(true)
            .origins(Origins::builder().quantity(1).items(origin).build().unwrap())
            .default_cache_behavior(
                DefaultCacheBehavior::builder()
                    .target_origin_id("site")
                    .viewer_protocol_policy(ViewerProtocolPolicy::AllowAll)
                    .min_ttl(0)
                    .forwarded_values(
                        ForwardedValues::builder()
                            .query_string(false)
                            .cookies(CookiePreference::builder().forward(ItemSelection::None).build().unwrap())
                            .build()
                            .unwrap(),
                    )
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap();
        aws_sdk_cloudfront::Client::new(&home_east)
            .create_distribution()
            .distribution_config(config)
            .send()
            .await
            .unwrap();
    }
    let route53 = aws_sdk_route53::Client::new(&home_east);
    let zone_id = route53
        .create_hosted_zone()
        .name("example.test")
        .caller_reference("zone-1")
        .send()
        .await
        .unwrap()
        .hosted_zone
        .unwrap()
        .id;
    {
        use aws_sdk_route53::types::*;
        let record = ResourceRecordSet::builder()
            .name("www.example.test")
            .r#type(RrType::A)
            .ttl(300)
            .resource_records(ResourceRecord::builder().value("198.51.100.7").build().unwrap())
            .build()
            .unwrap();
        let change = Change::builder().action(ChangeAction::Create).resource_record_set(record).build().unwrap();
        route53
            .change_resource_record_sets()
            .hosted_zone_id(&zone_id)
            .change_batch(ChangeBatch::builder().changes(change).build().unwrap())
            .send()
            .await
            .unwrap();
    }

    // Security Hub: one imported finding in the home account's us-east-1.
    {
        use aws_sdk_securityhub::types::*;
        let finding = AwsSecurityFinding::builder()
            .schema_version("2018-10-08")
            .id("sh-1")
            .product_arn(format!("arn:aws:securityhub:us-east-1:{HOME}:product/{HOME}/default"))
            .generator_id("s3-public")
            .aws_account_id(HOME)
            .title("S3 bucket is public")
            .description("public")
            .created_at("2026-11-01T00:00:00Z")
            .updated_at("2026-11-02T00:00:00Z")
            .severity(Severity::builder().label(SeverityLabel::High).build())
            .record_state(RecordState::Active)
            .resources(Resource::builder().r#type("AwsS3Bucket").id("arn:aws:s3:::home-public").build())
            .build();
        aws_sdk_securityhub::Client::new(&home_east).batch_import_findings().findings(finding).send().await.unwrap();
    }

    // Inspector: seeded through moto's queue for the member account's eu-west-1.
    moto_post(
        &moto,
        "/moto-api/static/inspector2/findings-results",
        json!({"account_id": MEMBER, "region": WEST, "results": [[{
            "awsAccountId": MEMBER, "findingArn": format!("arn:aws:inspector2:{WEST}:{MEMBER}:finding/f1"),
            "type": "PACKAGE_VULNERABILITY", "severity": "CRITICAL", "status": "ACTIVE", "title": "CVE-2026-0001 - openssl",
            "description": "d", "inspectorScore": 9.8, "firstObservedAt": 1793520000,
            "lastObservedAt": 1793606400, "fixAvailable": "YES", "exploitAvailable": "NO",
            "remediation": {}, "packageVulnerabilityDetails": {"vulnerabilityId": "CVE-2026-0001", "source": "NVD"},
            "resources": [{"type": "AWS_EC2_INSTANCE", "id": member_net.instance}]}]]}),
    )
    .await;

    aws_sdk_ecr::Client::new(&home_west).create_repository().repository_name("api").send().await.unwrap();
    aws_sdk_ecr::Client::new(&member_east).create_repository().repository_name("worker").send().await.unwrap();

    let summary = collect(
        &db.pool,
        &CollectPlan {
            aws: Some(AwsEstate {
                base: base.clone(),
                accounts: vec![HOME.into(), MEMBER.into()],
                regions: vec![EAST.into(), WEST.into()],
                role_name: "SecOpsInventoryReader".into(),
            }),
            vendors: vec![],
            concurrency: 4,
        },
    )
    .await
    .unwrap();
    assert_eq!(summary.failed_runs, vec![], "every run lands");
    assert_eq!(summary.status, "complete");
    // 7 regional collectors x 2 regions + 3 global, per account.
    assert_eq!(summary.runs, 2 * (8 * 2 + 3));

    // EC2: each instance only in its own account and region, with tags and groups.
    let found = rows(&db, &format!("SELECT account_id, region, name, environment, eks_cluster, security_group_ids, raw FROM ec2_instances WHERE instance_id = '{}'", home_net.instance)).await;
    assert_eq!(found.len(), 1);
    assert_eq!((found[0].get::<_, String>(0), found[0].get::<_, String>(1)), (HOME.into(), EAST.into()));
    assert_eq!(found[0].get::<_, Option<String>>(2).as_deref(), Some("home-east"));
    assert_eq!(found[0].get::<_, Option<String>>(3).as_deref(), Some("prod"));
    assert_eq!(found[0].get::<_, Option<String>>(4).as_deref(), Some("payments"));
    assert_eq!(found[0].get::<_, Vec<String>>(5), vec![home_net.web_sg.clone()]);
    let raw: Value = found[0].get(6);
    assert_eq!(raw["InstanceId"], json!(home_net.instance));
    assert_eq!(raw["InstanceType"], json!("t3.micro"));
    let member = rows(
        &db,
        &format!("SELECT account_id, region FROM ec2_instances WHERE instance_id = '{}'", member_net.instance),
    )
    .await;
    assert_eq!(member.len(), 1);
    assert_eq!((member[0].get::<_, String>(0), member[0].get::<_, String>(1)), (MEMBER.into(), WEST.into()));

    // Security group rules referencing a group and a prefix list; the prefix list's entries.
    for net in [&home_net, &member_net] {
        let referenced = rows(&db, &format!("SELECT count(*) FROM ec2_security_group_rules WHERE group_id = '{}' AND referenced_group_id = '{}' AND from_port = 22", net.web_sg, net.admin_sg)).await;
        assert_eq!(referenced[0].get::<_, i64>(0), 1, "rule referencing the admin group");
        let prefix = rows(
            &db,
            &format!(
                "SELECT count(*) FROM ec2_security_group_rules WHERE group_id = '{}' AND prefix_list_id = '{}'",
                net.web_sg, net.prefix_list
            ),
        )
        .await;
        assert_eq!(prefix[0].get::<_, i64>(0), 1, "rule referencing the prefix list");
        let entries = rows(
            &db,
            &format!("SELECT cidr::text FROM ec2_prefix_list_entries WHERE prefix_list_id = '{}'", net.prefix_list),
        )
        .await;
        assert_eq!(entries.iter().map(|r| r.get::<_, String>(0)).collect::<Vec<_>>(), vec!["203.0.113.0/24"]);
        for (table, column, id) in [
            ("ec2_network_acls", "network_acl_id", &net.nacl),
            ("ec2_route_tables", "route_table_id", &net.route_table),
            ("ec2_internet_gateways", "internet_gateway_id", &net.igw),
        ] {
            assert_eq!(
                rows(&db, &format!("SELECT count(*) FROM {table} WHERE {column} = '{id}'")).await[0].get::<_, i64>(0),
                1,
                "{table} {id}"
            );
        }
    }
    let gateways = rows(
        &db,
        &format!("SELECT gateway_ids FROM ec2_route_tables WHERE route_table_id = '{}'", home_net.route_table),
    )
    .await;
    assert!(gateways[0].get::<_, Vec<String>>(0).contains(&home_net.igw));

    // S3: buckets per account (global), the public one by policy, encryption, versioning.
    let public =
        rows(&db, "SELECT account_id, region, is_public FROM s3_bucket_policy_status WHERE bucket = 'home-public'")
            .await;
    assert_eq!(public.len(), 1);
    assert_eq!(
        (public[0].get::<_, String>(0), public[0].get::<_, String>(1), public[0].get::<_, Option<bool>>(2)),
        (HOME.into(), "global".into(), Some(true))
    );
    let encryption = rows(&db, "SELECT bucket, sse_algorithm FROM s3_bucket_encryption ORDER BY bucket").await;
    assert_eq!(
        encryption.iter().map(|r| (r.get::<_, String>(0), r.get::<_, Option<String>>(1))).collect::<Vec<_>>(),
        vec![("home-encrypted".into(), Some("aws:kms".into())), ("member-encrypted".into(), Some("aws:kms".into()))],
        "only buckets with encryption configured have a row"
    );
    let versioning =
        rows(&db, "SELECT bucket, status FROM s3_bucket_versioning WHERE account_id = '210987654321' ORDER BY bucket")
            .await;
    assert_eq!(
        versioning.iter().map(|r| (r.get::<_, String>(0), r.get::<_, Option<String>>(1))).collect::<Vec<_>>(),
        vec![
            ("member-encrypted".into(), None),
            ("member-public".into(), None),
            ("member-versioned".into(), Some("Enabled".into()))
        ]
    );
    let member_buckets =
        rows(&db, "SELECT bucket FROM s3_buckets WHERE account_id = '210987654321' ORDER BY bucket").await;
    assert_eq!(
        member_buckets.iter().map(|r| r.get::<_, String>(0)).collect::<Vec<_>>(),
        vec!["member-encrypted", "member-public", "member-versioned"]
    );

    // RDS in the member account's eu-west-1 only.
    let db_rows = rows(&db, "SELECT account_id, region, storage_encrypted, publicly_accessible FROM rds_db_instances WHERE db_instance_id = 'orders'").await;
    assert_eq!(db_rows.len(), 1);
    assert_eq!((db_rows[0].get::<_, String>(0), db_rows[0].get::<_, String>(1)), (MEMBER.into(), WEST.into()));
    assert_eq!(db_rows[0].get::<_, Option<bool>>(2), Some(false));
    assert_eq!(db_rows[0].get::<_, Option<bool>>(3), Some(true));
    let restorable =
        rows(&db, "SELECT restorable_by FROM rds_db_snapshot_attributes WHERE db_snapshot_id = 'orders-manual'").await;
    assert_eq!(restorable[0].get::<_, Vec<String>>(0), vec!["all"]);

    // ELB listener under its load balancer; CloudFront; Route 53 records under their zone.
    let listeners = rows(&db, &format!("SELECT port FROM elb_listeners WHERE load_balancer_arn = '{lb_arn}'")).await;
    assert_eq!(listeners.iter().map(|r| r.get::<_, Option<i64>>(0)).collect::<Vec<_>>(), vec![Some(80)]);

    // The target group with its load balancer, and its two registered targets.
    let groups = rows(&db, "SELECT account_id, region, target_group_arn, name, protocol, port, vpc_id, target_type, load_balancer_arns FROM elb_target_groups").await;
    assert_eq!(groups.len(), 1);
    assert_eq!((groups[0].get::<_, String>(0), groups[0].get::<_, String>(1)), (HOME.into(), EAST.into()));
    assert_eq!(groups[0].get::<_, Option<String>>(2).as_deref(), Some(tg_arn.as_str()));
    assert_eq!(groups[0].get::<_, Option<String>>(3).as_deref(), Some("web-tg"));
    assert_eq!(groups[0].get::<_, Option<String>>(4).as_deref(), Some("HTTP"));
    assert_eq!(groups[0].get::<_, Option<i64>>(5), Some(8080));
    assert_eq!(groups[0].get::<_, Option<String>>(6).as_deref(), Some(home_net.vpc.as_str()));
    assert_eq!(groups[0].get::<_, Option<String>>(7).as_deref(), Some("instance"));
    assert_eq!(groups[0].get::<_, Option<Vec<String>>>(8), Some(vec![lb_arn.clone()]));
    let targets = rows(&db, "SELECT target_group_arn, target_id, port FROM elb_target_health ORDER BY port").await;
    assert_eq!(
        targets
            .iter()
            .map(|r| (
                r.get::<_, Option<String>>(0).unwrap(),
                r.get::<_, Option<String>>(1).unwrap(),
                r.get::<_, Option<i64>>(2)
            ))
            .collect::<Vec<_>>(),
        vec![
            (tg_arn.clone(), home_net.instance.clone(), Some(8080)),
            (tg_arn.clone(), second_instance.clone(), Some(8081))
        ]
    );

    // Elastic IPs: the associated one names the instance, its interface and the association.
    let addresses = rows(&db, "SELECT account_id, region, allocation_id, host(public_ip), instance_id, network_interface_id, association_id, domain, host(private_ip) FROM ec2_addresses ORDER BY association_id NULLS LAST").await;
    let address = |r: &tokio_postgres::Row| (0..9).map(|c| r.get::<_, Option<String>>(c)).collect::<Vec<_>>();
    let some = |v: &str| Some(v.to_owned());
    assert_eq!(
        addresses.iter().map(address).collect::<Vec<_>>(),
        vec![
            vec![
                some(HOME),
                some(EAST),
                associated.allocation_id.clone(),
                associated.public_ip.clone(),
                some(&home_net.instance),
                some(&home_eni),
                some(&association),
                some("vpc"),
                some(&home_private_ip),
            ],
            // moto answers an unassociated address with empty InstanceId and NetworkInterfaceId
            // (AWS leaves them out); the columns keep what the response says.
            vec![
                some(HOME),
                some(EAST),
                spare.allocation_id.clone(),
                spare.public_ip.clone(),
                some(""),
                some(""),
                None,
                some("vpc"),
                None,
            ],
        ]
    );

    // The peering, active, as the home account's us-east-1 lists it.
    let peerings = rows(&db, "SELECT account_id, region, vpc_peering_connection_id, status, requester_vpc_id, requester_owner_id, requester_region, accepter_vpc_id, accepter_owner_id, accepter_region FROM ec2_vpc_peering_connections").await;
    assert_eq!(
        peerings.iter().map(|r| (0..10).map(|c| r.get::<_, Option<String>>(c)).collect::<Vec<_>>()).collect::<Vec<_>>(),
        vec![vec![
            some(HOME),
            some(EAST),
            some(&peering),
            some("active"),
            some(&home_net.vpc),
            some(HOME),
            some(EAST),
            some(&peer_vpc),
            some(HOME),
            some(EAST),
        ]]
    );
    let distributions = rows(&db, "SELECT account_id, region, enabled FROM cloudfront_distributions").await;
    assert_eq!(distributions.len(), 1);
    assert_eq!(
        (distributions[0].get::<_, String>(0), distributions[0].get::<_, String>(1)),
        (HOME.into(), "global".into())
    );
    let records =
        rows(&db, "SELECT zone_id, values FROM route53_record_sets WHERE name = 'www.example.test.' AND type = 'A'")
            .await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].get::<_, String>(0), zone_id);
    assert_eq!(records[0].get::<_, Vec<String>>(1), vec!["198.51.100.7"]);

    // Findings: Security Hub and Inspector where they were put, GuardDuty across both pages.
    let sh = rows(&db, "SELECT account_id, region, severity FROM securityhub_findings WHERE finding_id = 'sh-1'").await;
    assert_eq!(sh.len(), 1);
    assert_eq!(
        (sh[0].get::<_, String>(0), sh[0].get::<_, String>(1), sh[0].get::<_, Option<String>>(2)),
        (HOME.into(), EAST.into(), Some("HIGH".into()))
    );
    let inspector =
        rows(&db, "SELECT account_id, region, vulnerability_id, inspector_score FROM inspector_findings").await;
    assert_eq!(inspector.len(), 1);
    assert_eq!((inspector[0].get::<_, String>(0), inspector[0].get::<_, String>(1)), (MEMBER.into(), WEST.into()));
    assert_eq!(inspector[0].get::<_, Option<String>>(2).as_deref(), Some("CVE-2026-0001"));
    let gd_rows = rows(&db, "SELECT finding_id, severity, instance_id, archived FROM guardduty_findings WHERE account_id = '123456789012' AND region = 'us-east-1' ORDER BY finding_id").await;
    assert_eq!(gd_rows.iter().map(|r| r.get::<_, String>(0)).collect::<Vec<_>>(), vec!["gd-1", "gd-2"]);
    assert_eq!(gd_rows[0].get::<_, Option<f64>>(1), Some(8.0));
    assert_eq!(gd_rows[0].get::<_, Option<String>>(2).as_deref(), Some("i-0guardduty"));
    let ecr =
        rows(&db, "SELECT account_id, region, repository_name FROM ecr_repositories ORDER BY repository_name").await;
    assert_eq!(
        ecr.iter().map(|r| (r.get::<_, String>(0), r.get::<_, String>(1), r.get::<_, String>(2))).collect::<Vec<_>>(),
        vec![(HOME.into(), WEST.into(), "api".into()), (MEMBER.into(), EAST.into(), "worker".into())]
    );

    // What live collection recorded flattens: the home VPC's instances are labelled nodes, the
    // first with its Elastic IP, the load balancer a node of its own; nothing is exposed, because
    // the route table with the internet gateway route is associated with no subnet (they all use
    // the main table, local route only).
    let flattened = secops_inventory::network::flatten_snapshot(&db.pool, summary.snapshot_id).await.unwrap();
    assert_eq!(flattened.findings, 0);
    let home_nodes = rows(
        &db,
        &format!(
            "SELECT resource_type, resource_id, array(SELECT host(a) FROM unnest(public_ips) a) FROM network_nodes \
             WHERE vpc_id = '{}' AND kind <> 'internet' ORDER BY resource_type, resource_id",
            home_net.vpc
        ),
    )
    .await;
    let mut instances = [home_net.instance.clone(), second_instance.clone()];
    instances.sort();
    let mut expected: Vec<(String, Option<String>, Vec<String>)> = instances
        .iter()
        .map(|i| {
            let public = if *i == home_net.instance { vec![associated.public_ip.clone().unwrap()] } else { vec![] };
            ("ec2_instance".to_owned(), Some(i.clone()), public)
        })
        .collect();
    expected.push(("load_balancer".to_owned(), Some(lb_arn.clone()), vec![]));
    assert_eq!(
        home_nodes
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect::<Vec<(String, Option<String>, Vec<String>)>>(),
        expected
    );
    let exposed = rows(&db, "SELECT count(*) FROM reachability WHERE source_id = 'internet'").await;
    assert_eq!(exposed[0].get::<_, i64>(0), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn converted_records_keep_members_no_column_reads() {
    let moto = MotoServer::start();
    let gd = guardduty_stub().await;
    let config = base_config(&moto, &gd, EAST).await;
    let net = network(&config, "lossless").await;
    let page = aws_sdk_ec2::Client::new(&config).describe_instances().instance_ids(&net.instance).send().await.unwrap();
    let json = page.to_cli_json();
    let instance = &json["Reservations"][0]["Instances"][0];
    assert_eq!(instance["InstanceId"], json!(net.instance));
    assert!(instance["Placement"]["AvailabilityZone"].as_str().is_some_and(|az| az.starts_with(EAST)), "{instance}");
    assert!(instance["MetadataOptions"]["HttpEndpoint"].is_string(), "{instance}");
    assert!(instance["BlockDeviceMappings"][0]["Ebs"]["VolumeId"].is_string(), "{instance}");
    assert!(
        instance["LaunchTime"].as_str().is_some_and(|t| t.ends_with('Z') && t.contains('T')),
        "RFC 3339: {instance}"
    );
    assert_eq!(instance["State"]["Name"], json!("running"), "enums as their wire strings");
    assert!(instance.get("SpotInstanceRequestId").is_none(), "unset members are omitted");
}
