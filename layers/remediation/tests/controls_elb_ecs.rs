//! ELB listener and ECS remediations against moto: each creates a non-compliant resource, runs
//! plan → apply → verify, reads the real state back, re-runs for idempotency, and checks the
//! exemptions and guards.

mod support;

use aws_sdk_ecs::types::{AssignPublicIp, AwsVpcConfiguration, ClusterSettingName, NetworkConfiguration};
use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, Certificate, LoadBalancerTypeEnum, ProtocolEnum, RedirectActionStatusCodeEnum,
};
use secops_remediation::Outcome;
use support::*;

fn assert_outcome(report: &secops_remediation::Report, outcome: Outcome, reason: &str) {
    assert_eq!(report.outcome, outcome, "{}", report.summary());
    assert!(report.reason.contains(reason), "expected {reason:?} in: {}", report.reason);
    assert!(report.applied.is_empty());
}

/// A VPC with two subnets in two zones (an ALB needs two) and a security group.
async fn network(h: &Harness) -> (String, Vec<String>, String) {
    let ec2 = aws_sdk_ec2::Client::new(&h.sdk);
    let vpc =
        ec2.create_vpc().cidr_block("10.0.0.0/16").send().await.unwrap().vpc().unwrap().vpc_id().unwrap().to_owned();
    let mut subnets = Vec::new();
    for (cidr, zone) in [("10.0.1.0/24", "us-east-1a"), ("10.0.2.0/24", "us-east-1b")] {
        let out = ec2.create_subnet().vpc_id(&vpc).cidr_block(cidr).availability_zone(zone).send().await.unwrap();
        subnets.push(out.subnet().unwrap().subnet_id().unwrap().to_owned());
    }
    let sg = ec2.create_security_group().group_name("svc").description("t").vpc_id(&vpc).send().await.unwrap();
    (vpc, subnets, sg.group_id().unwrap().to_owned())
}

struct Alb {
    elb: aws_sdk_elasticloadbalancingv2::Client,
    arn: String,
    target_group: String,
}

async fn alb(h: &Harness) -> Alb {
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&h.sdk);
    let (vpc, subnets, _) = network(h).await;
    let lb = elb
        .create_load_balancer()
        .name("web")
        .set_subnets(Some(subnets))
        .r#type(LoadBalancerTypeEnum::Application)
        .send()
        .await
        .unwrap();
    let arn = lb.load_balancers()[0].load_balancer_arn().unwrap().to_owned();
    let tg =
        elb.create_target_group().name("web").protocol(ProtocolEnum::Http).port(80).vpc_id(vpc).send().await.unwrap();
    let target_group = tg.target_groups()[0].target_group_arn().unwrap().to_owned();
    Alb { elb, arn, target_group }
}

impl Alb {
    fn forward(&self) -> Action {
        Action::builder().r#type(ActionTypeEnum::Forward).target_group_arn(&self.target_group).build()
    }

    async fn listener(&self, protocol: ProtocolEnum, port: i32) -> String {
        let mut call = self
            .elb
            .create_listener()
            .load_balancer_arn(&self.arn)
            .protocol(protocol.clone())
            .port(port)
            .default_actions(self.forward());
        if protocol == ProtocolEnum::Https {
            // moto accepts an IAM server certificate ARN without ACM.
            call = call.certificates(
                Certificate::builder()
                    .certificate_arn(format!("arn:aws:iam::{ACCOUNT}:server-certificate/web"))
                    .build(),
            );
        }
        call.send().await.unwrap().listeners()[0].listener_arn().unwrap().to_owned()
    }

    async fn default_action(&self, listener: &str) -> Action {
        let out = self.elb.describe_listeners().listener_arns(listener).send().await.unwrap();
        out.listeners()[0].default_actions()[0].clone()
    }

    async fn tag(&self, key: &str, value: &str) {
        let tag = aws_sdk_elasticloadbalancingv2::types::Tag::builder().key(key).value(value).build();
        self.elb.add_tags().resource_arns(&self.arn).tags(tag).send().await.unwrap();
    }

    async fn drop_invalid(&self) -> Option<String> {
        let out = self.elb.describe_load_balancer_attributes().load_balancer_arn(&self.arn).send().await.unwrap();
        out.attributes()
            .iter()
            .find(|a| a.key() == Some("routing.http.drop_invalid_header_fields.enabled"))
            .and_then(|a| a.value().map(str::to_owned))
    }
}

fn lb_finding(control: &str, arn: &str) -> FindingBuilder {
    finding(control, "AwsElbv2LoadBalancer", arn)
}

// ---------------------------------------------------------------- ELB.1

#[tokio::test]
async fn elb_1_redirects_http_to_the_https_listener() {
    let h = Harness::start().await;
    let alb = alb(&h).await;
    let http = alb.listener(ProtocolEnum::Http, 80).await;
    let https = alb.listener(ProtocolEnum::Https, 443).await;
    let report = h.remediates(&lb_finding("ELB.1", &alb.arn).build()).await;
    assert_eq!(report.applied.len(), 1);
    assert_eq!(report.applied[0].resource, http);
    let action = alb.default_action(&http).await;
    assert_eq!(action.r#type(), Some(&ActionTypeEnum::Redirect));
    let r = action.redirect_config().unwrap();
    assert_eq!(
        (r.protocol(), r.port(), r.host(), r.path(), r.query(), r.status_code()),
        (
            Some("HTTPS"),
            Some("443"),
            Some("#{host}"),
            Some("/#{path}"),
            Some("#{query}"),
            Some(&RedirectActionStatusCodeEnum::Http301)
        )
    );
    // The HTTPS listener still forwards.
    assert_eq!(alb.default_action(&https).await.r#type(), Some(&ActionTypeEnum::Forward));
}

#[tokio::test]
async fn elb_1_without_an_https_listener_is_a_ticket() {
    let h = Harness::start().await;
    let alb = alb(&h).await;
    let http = alb.listener(ProtocolEnum::Http, 80).await;
    let report = h.run(&lb_finding("ELB.1", &alb.arn).build()).await;
    assert_outcome(&report, Outcome::Ticket, "has no HTTPS listener");
    assert_eq!(alb.default_action(&http).await.r#type(), Some(&ActionTypeEnum::Forward));
}

#[tokio::test]
async fn elb_1_exemption_by_live_tag() {
    let h = Harness::start().await;
    let alb = alb(&h).await;
    let http = alb.listener(ProtocolEnum::Http, 80).await;
    alb.listener(ProtocolEnum::Https, 443).await;
    alb.tag("secops:elb:http-intended", "true").await;
    h.exempt(&lb_finding("ELB.1", &alb.arn).build()).await;
    assert_eq!(alb.default_action(&http).await.r#type(), Some(&ActionTypeEnum::Forward));
}

#[tokio::test]
async fn elb_1_network_load_balancer_id_is_invalid_input() {
    let h = Harness::start().await;
    let arn = format!("arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:loadbalancer/net/tcp/0123456789abcdef");
    let err = h.run_with(&lb_finding("ELB.1", &arn).build(), Default::default()).await.unwrap_err();
    assert!(err.to_string().contains("expected an Application Load Balancer ARN"), "{err}");
}

// ---------------------------------------------------------------- ELB.4

#[tokio::test]
async fn elb_4_drops_invalid_header_fields() {
    let h = Harness::start().await;
    let alb = alb(&h).await;
    assert_ne!(alb.drop_invalid().await.as_deref(), Some("true"));
    h.remediates(&lb_finding("ELB.4", &alb.arn).build()).await;
    assert_eq!(alb.drop_invalid().await.as_deref(), Some("true"));
}

#[tokio::test]
async fn elb_4_exemption_by_tag() {
    let h = Harness::start().await;
    let alb = alb(&h).await;
    h.exempt(&lb_finding("ELB.4", &alb.arn).tag("secops:exempt", "ELB.4").build()).await;
    assert_ne!(alb.drop_invalid().await.as_deref(), Some("true"));
}

#[tokio::test]
async fn elb_4_missing_load_balancer_is_suppressed() {
    let h = Harness::start().await;
    let arn = format!("arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:loadbalancer/app/gone/0123456789abcdef");
    let report = h.run(&lb_finding("ELB.4", &arn).build()).await;
    assert_eq!(report.outcome, Outcome::Suppress, "{}", report.summary());
    assert!(report.plan.is_none() && report.applied.is_empty());
}

// ---------------------------------------------------------------- ECS.2

struct Svc {
    ecs: aws_sdk_ecs::Client,
    arn: String,
    subnets: Vec<String>,
    group: String,
}

async fn public_service(h: &Harness) -> Svc {
    let ecs = aws_sdk_ecs::Client::new(&h.sdk);
    let (_, subnets, group) = network(h).await;
    ecs.create_cluster().cluster_name("apps").send().await.unwrap();
    let container = aws_sdk_ecs::types::ContainerDefinition::builder().name("web").image("nginx").memory(128).build();
    ecs.register_task_definition()
        .family("web")
        .network_mode(aws_sdk_ecs::types::NetworkMode::Awsvpc)
        .container_definitions(container)
        .send()
        .await
        .unwrap();
    let vpc = AwsVpcConfiguration::builder()
        .set_subnets(Some(subnets.clone()))
        .security_groups(&group)
        .assign_public_ip(AssignPublicIp::Enabled)
        .build()
        .unwrap();
    let out = ecs
        .create_service()
        .cluster("apps")
        .service_name("web")
        .task_definition("web")
        .desired_count(0)
        .launch_type(aws_sdk_ecs::types::LaunchType::Fargate)
        .network_configuration(NetworkConfiguration::builder().awsvpc_configuration(vpc).build())
        .send()
        .await
        .unwrap();
    let arn = out.service().unwrap().service_arn().unwrap().to_owned();
    Svc { ecs, arn, subnets, group }
}

impl Svc {
    async fn network(&self) -> AwsVpcConfiguration {
        let out = self.ecs.describe_services().cluster("apps").services("web").send().await.unwrap();
        out.services()[0].network_configuration().unwrap().awsvpc_configuration().unwrap().clone()
    }
}

fn service_finding(arn: &str) -> FindingBuilder {
    finding("ECS.2", "AwsEcsService", arn)
}

#[tokio::test]
async fn ecs_2_stops_assigning_public_ips_keeping_the_network() {
    let h = Harness::start().await;
    let svc = public_service(&h).await;
    assert_eq!(svc.arn, format!("arn:aws:ecs:{REGION}:{ACCOUNT}:service/apps/web"));
    let report = h.remediates(&service_finding(&svc.arn).build()).await;
    assert!(report.applied[0].why.contains("NAT"), "{}", report.applied[0].why);
    let after = svc.network().await;
    assert_eq!(after.assign_public_ip(), Some(&AssignPublicIp::Disabled));
    assert_eq!(after.subnets(), svc.subnets.as_slice());
    assert_eq!(after.security_groups(), std::slice::from_ref(&svc.group));
}

#[tokio::test]
async fn ecs_2_exemption_by_live_tag() {
    let h = Harness::start().await;
    let svc = public_service(&h).await;
    let tag = aws_sdk_ecs::types::Tag::builder().key("secops:ecs:public-ip-intended").value("true").build();
    svc.ecs.tag_resource().resource_arn(&svc.arn).tags(tag).send().await.unwrap();
    h.exempt(&service_finding(&svc.arn).build()).await;
    assert_eq!(svc.network().await.assign_public_ip(), Some(&AssignPublicIp::Enabled));
}

#[tokio::test]
async fn ecs_2_missing_service_is_suppressed_and_old_arns_are_invalid() {
    let h = Harness::start().await;
    let ecs = aws_sdk_ecs::Client::new(&h.sdk);
    ecs.create_cluster().cluster_name("apps").send().await.unwrap();
    let report = h.run(&service_finding(&format!("arn:aws:ecs:{REGION}:{ACCOUNT}:service/apps/gone")).build()).await;
    // The live-tag read already finds it gone (ServiceNotFoundException).
    assert_outcome(&report, Outcome::Suppress, "no longer exists");
    let old = format!("arn:aws:ecs:{REGION}:{ACCOUNT}:service/web");
    let err = h.run_with(&service_finding(&old).build(), Default::default()).await.unwrap_err();
    assert!(err.to_string().contains("service/<cluster>/<service>"), "{err}");
}

// ---------------------------------------------------------------- ECS.12

async fn insights(ecs: &aws_sdk_ecs::Client, name: &str) -> Option<String> {
    let out = ecs
        .describe_clusters()
        .clusters(name)
        .include(aws_sdk_ecs::types::ClusterField::Settings)
        .send()
        .await
        .unwrap();
    out.clusters()[0]
        .settings()
        .iter()
        .find(|s| s.name() == Some(&ClusterSettingName::ContainerInsights))
        .and_then(|s| s.value().map(str::to_owned))
}

fn cluster_finding(name: &str) -> FindingBuilder {
    finding("ECS.12", "AwsEcsCluster", &format!("arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/{name}"))
}

#[tokio::test]
async fn ecs_12_enables_container_insights() {
    let h = Harness::start().await;
    let ecs = aws_sdk_ecs::Client::new(&h.sdk);
    ecs.create_cluster().cluster_name("batch").send().await.unwrap();
    assert_ne!(insights(&ecs, "batch").await.as_deref(), Some("enabled"));
    let report = h.remediates(&cluster_finding("batch").build()).await;
    assert_eq!(report.applied[0].action, "ecs:UpdateCluster");
    assert_eq!(insights(&ecs, "batch").await.as_deref(), Some("enabled"));
}

#[tokio::test]
async fn ecs_12_exemption_by_live_tag() {
    let h = Harness::start().await;
    let ecs = aws_sdk_ecs::Client::new(&h.sdk);
    let tag = aws_sdk_ecs::types::Tag::builder().key("secops:exempt").value("ECS.12").build();
    ecs.create_cluster().cluster_name("batch").tags(tag).send().await.unwrap();
    h.exempt(&cluster_finding("batch").build()).await;
    assert_ne!(insights(&ecs, "batch").await.as_deref(), Some("enabled"));
}

#[tokio::test]
async fn ecs_12_missing_cluster_is_suppressed() {
    let h = Harness::start().await;
    let report = h.run(&cluster_finding("nowhere").build()).await;
    assert_outcome(&report, Outcome::Suppress, "cluster nowhere does not exist");
}
