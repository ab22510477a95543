//! ELB.1 — Application Load Balancer should be configured to redirect all HTTP requests to HTTPS:
//! make every HTTP listener's default action a permanent redirect to the load balancer's HTTPS
//! listener, keeping host, path and query.

use async_trait::async_trait;
use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, Listener, ProtocolEnum, RedirectActionConfig, RedirectActionStatusCodeEnum,
};
use serde_json::json;
use std::collections::BTreeMap;

use super::ec2_common::next_token;
use super::elb_common::{alb_arn_of, find_load_balancer, lb_tags};
use crate::context::Ctx;
use crate::plan::{unplanned, Change};
use crate::spec::{Assessment, Check, Remediation, Spec, TestedWith};
use crate::support::aws;
use crate::support::{too_many_pages, MAX_PAGES};
use secops_aws::AwsError;

pub struct Elb1;

static SPEC: Spec = Spec {
    control: "ELB.1",
    title: "Application Load Balancer should be configured to redirect all HTTP requests to HTTPS",
    change: "sets the default action of each HTTP listener to an HTTP 301 redirect to the load balancer's HTTPS \
             listener (host, path and query kept); only when the load balancer has an HTTPS listener",
    resource_types: &["AwsElbv2LoadBalancer"],
    actions: &[
        "elasticloadbalancing:DescribeTags",
        "elasticloadbalancing:DescribeLoadBalancers",
        "elasticloadbalancing:DescribeListeners",
        "elasticloadbalancing:ModifyListener",
    ],
    // Clients that cannot follow a redirect to HTTPS stop working.
    disruptive: true,
    verification: "DescribeListeners shows every HTTP listener's default action redirecting to HTTPS",
    exemption_tags: &["secops:elb:http-intended"],
    tested_with: TestedWith::Moto,
};

#[async_trait]
impl Remediation for Elb1 {
    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn name_of(&self, resource_id: &str, _details: Option<&serde_json::Value>) -> Result<String, String> {
        alb_arn_of(resource_id)
    }

    async fn live_tags(&self, ctx: &Ctx) -> Result<Option<BTreeMap<String, String>>, AwsError> {
        lb_tags(ctx).await.map(Some)
    }

    async fn plan(&self, ctx: &Ctx) -> Result<Assessment, AwsError> {
        let arn = &ctx.target.name;
        let Some(lb) = find_load_balancer(ctx).await? else {
            return Ok(Assessment::Gone(format!("load balancer {arn} does not exist")));
        };
        let name = lb.load_balancer_name().unwrap_or_default();
        let listeners = listeners(ctx).await?;
        let plain = not_redirecting(&listeners);
        if plain.is_empty() {
            return Ok(Assessment::Compliant(format!("every HTTP listener of {name} redirects to HTTPS")));
        }
        let https: Vec<i32> = listeners
            .iter()
            .filter(|l| l.protocol() == Some(&ProtocolEnum::Https))
            .filter_map(Listener::port)
            .collect();
        // Redirect to 443 when it serves HTTPS, else to the HTTPS port there is: never to a port nobody answers.
        let Some(port) = https.iter().copied().find(|p| *p == 443).or_else(|| https.iter().copied().min()) else {
            return Ok(Assessment::Ticket(format!(
                "load balancer {name} has no HTTPS listener, so HTTP cannot be redirected: add an HTTPS listener with \
                 a certificate for its domain first"
            )));
        };
        let changes = plain
            .iter()
            .map(|l| {
                let listener = l.listener_arn().unwrap_or_default();
                Change::new(
                    "elasticloadbalancing:ModifyListener",
                    listener,
                    json!({
                        "ListenerArn": listener,
                        "Protocol": "HTTPS",
                        "Port": port.to_string(),
                        "Host": "#{host}",
                        "Path": "/#{path}",
                        "Query": "#{query}",
                        "StatusCode": "HTTP_301",
                    }),
                    format!(
                        "HTTP listener on port {} of {name} serves plain HTTP; its default action becomes a redirect \
                         to HTTPS:{port} (its other rules are unchanged)",
                        l.port().unwrap_or_default()
                    ),
                )
            })
            .collect();
        Ok(Assessment::Changes(changes))
    }

    async fn execute(&self, ctx: &Ctx, change: &Change) -> Result<(), AwsError> {
        match change.action.as_str() {
            "elasticloadbalancing:ModifyListener" => {
                let redirect = RedirectActionConfig::builder()
                    .protocol(change.text("Protocol")?)
                    .port(change.text("Port")?)
                    .host(change.text("Host")?)
                    .path(change.text("Path")?)
                    .query(change.text("Query")?)
                    .status_code(RedirectActionStatusCodeEnum::from(change.text("StatusCode")?))
                    .build();
                let action = Action::builder().r#type(ActionTypeEnum::Redirect).redirect_config(redirect).build();
                ctx.elbv2()
                    .modify_listener()
                    .listener_arn(change.text("ListenerArn")?)
                    .default_actions(action)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(aws("elasticloadbalancing:ModifyListener"))
            }
            _ => Err(unplanned(change)),
        }
    }

    async fn verify(&self, ctx: &Ctx) -> Result<Check, AwsError> {
        let all = listeners(ctx).await?;
        let plain = not_redirecting(&all);
        Ok(if plain.is_empty() {
            Check::Holds("every HTTP listener's default action redirects to HTTPS".into())
        } else {
            let ports: Vec<String> = plain.iter().map(|l| l.port().unwrap_or_default().to_string()).collect();
            Check::Fails(format!("HTTP listeners on ports {} do not redirect to HTTPS", ports.join(", ")))
        })
    }
}

/// Every listener of the load balancer (every page).
async fn listeners(ctx: &Ctx) -> Result<Vec<Listener>, AwsError> {
    let mut all = Vec::new();
    let mut marker = None;
    for _ in 0..MAX_PAGES {
        let out = ctx
            .elbv2()
            .describe_listeners()
            .load_balancer_arn(&ctx.target.name)
            .set_marker(marker)
            .send()
            .await
            .map_err(aws("elasticloadbalancing:DescribeListeners"))?;
        all.extend(out.listeners().iter().cloned());
        marker = next_token(out.next_marker());
        if marker.is_none() {
            return Ok(all);
        }
    }
    Err(too_many_pages("elasticloadbalancing:DescribeListeners"))
}

/// The HTTP listeners whose default action is not a redirect to HTTPS.
fn not_redirecting(listeners: &[Listener]) -> Vec<&Listener> {
    listeners
        .iter()
        .filter(|l| l.protocol() == Some(&ProtocolEnum::Http))
        .filter(|l| {
            !l.default_actions().iter().any(|a| {
                a.r#type() == Some(&ActionTypeEnum::Redirect)
                    && a.redirect_config().and_then(|r| r.protocol()) == Some("HTTPS")
            })
        })
        .collect()
}
