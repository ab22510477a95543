//! Writing one flattening: nodes, numbered reachability rows and findings, replacing whatever an
//! earlier flattening of the same snapshot wrote (attack paths cite reachability row numbers, so
//! they go with it), in one transaction.

use crate::error::{database, Result};
use crate::load::{copy_error, escape_into};
use crate::network::flatten::{Reach, INTERNET};
use crate::network::topology::{Finding, NodeKind, Topology};
use bytes::Bytes;
use futures::SinkExt;
use std::fmt::Write as _;
use std::net::IpAddr;
use tokio_postgres::Transaction;

/// COPY batches of about this many bytes.
const BATCH: usize = 4 << 20;

fn field(out: &mut Vec<u8>, value: Option<&str>) {
    match value {
        Some(v) => escape_into(out, v),
        None => out.extend_from_slice(b"\\N"),
    }
}

fn inet_array(ips: &[IpAddr]) -> String {
    let mut text = String::from("{");
    for (i, ip) in ips.iter().enumerate() {
        if i > 0 {
            text.push(',');
        }
        let _ = write!(text, "{ip}");
    }
    text.push('}');
    text
}

fn text_array(items: &[String]) -> String {
    // Ids never hold quotes, commas or braces, but quote every element anyway.
    let quoted: Vec<String> =
        items.iter().map(|s| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))).collect();
    format!("{{{}}}", quoted.join(","))
}

/// `statement` (a COPY into `table`) fed from `lines` in batches.
async fn copy(
    tx: &Transaction<'_>,
    table: &'static str,
    statement: &str,
    mut lines: impl Iterator<Item = Vec<u8>>,
) -> Result<()> {
    let sink = tx.copy_in::<_, Bytes>(statement).await.map_err(|e| database("store the flattening", e))?;
    futures::pin_mut!(sink);
    let mut buffer = Vec::with_capacity(BATCH);
    loop {
        let next = lines.next();
        if let Some(line) = &next {
            buffer.extend_from_slice(line);
        }
        if buffer.len() >= BATCH || (next.is_none() && !buffer.is_empty()) {
            let data = Bytes::from(std::mem::replace(&mut buffer, Vec::with_capacity(BATCH)));
            sink.send(data).await.map_err(|e| copy_error(table, e))?;
        }
        if next.is_none() {
            break;
        }
    }
    sink.finish().await.map_err(|e| copy_error(table, e))?;
    Ok(())
}

/// Replace snapshot `snapshot_id`'s flattening with this one.
pub async fn store(
    tx: &Transaction<'_>,
    snapshot_id: i64,
    t: &Topology,
    rows: &[Reach<'_>],
    findings: &[Finding],
    summary: &serde_json::Value,
) -> Result<()> {
    for table in [
        "attack_paths",
        "attack_path_starts",
        "reachability",
        "network_nodes",
        "network_findings",
        "network_flattenings",
    ] {
        tx.execute(&format!("DELETE FROM {table} WHERE snapshot_id = $1"), &[&snapshot_id])
            .await
            .map_err(|e| database("clear the previous flattening", e))?;
    }
    let snap = snapshot_id.to_string();

    let internet = {
        let mut line = Vec::new();
        for v in [
            Some(snap.as_str()),
            Some("internet"),
            Some("internet"),
            None,
            None,
            Some("the internet"),
            None,
            None,
            None,
            None,
        ] {
            field(&mut line, v);
            line.push(b'\t');
        }
        line.extend_from_slice(b"{}\t{}\t{}\n");
        line
    };
    let nodes = t.nodes.iter().map(|n| {
        let mut line = Vec::with_capacity(256);
        let kind = match n.kind {
            NodeKind::Eni => "eni",
            NodeKind::LoadBalancer => "load_balancer",
        };
        let columns = [
            Some(snap.as_str()),
            Some(n.id.as_str()),
            Some(kind),
            Some(n.resource_type),
            n.resource_id.as_deref(),
            n.name.as_deref(),
            n.account_id.as_deref(),
            n.region.as_deref(),
            Some(n.vpc_id.as_str()),
            n.subnet_id.as_deref(),
        ];
        for v in columns {
            field(&mut line, v);
            line.push(b'\t');
        }
        field(&mut line, Some(&inet_array(&n.private_ips)));
        line.push(b'\t');
        field(&mut line, Some(&inet_array(&n.public_ips)));
        line.push(b'\t');
        field(&mut line, Some(&text_array(&n.groups)));
        line.push(b'\n');
        line
    });
    copy(
        tx,
        "network_nodes",
        "COPY network_nodes (snapshot_id, node_id, kind, resource_type, resource_id, name, account_id, region, vpc_id, subnet_id, private_ips, public_ips, security_group_ids) FROM STDIN",
        std::iter::once(internet).chain(nodes),
    )
    .await?;

    let node_id = |i: usize| if i == INTERNET { "internet" } else { t.nodes[i].id.as_str() };
    let reach = rows.iter().enumerate().map(|(id, r)| {
        let mut line = Vec::with_capacity(512);
        let (from, to) = r.traffic.port_columns();
        let (from, to) = (from.map(|p| p.to_string()), to.map(|p| p.to_string()));
        let columns = [
            Some(snap.clone()),
            Some((id + 1).to_string()),
            Some(node_id(r.source).to_owned()),
            Some(node_id(r.destination).to_owned()),
            Some(r.traffic.protocol.name()),
            from,
            to,
            Some(if r.ipv6 { "ipv6" } else { "ipv4" }.to_owned()),
            Some(r.mechanism.to_owned()),
        ];
        for v in &columns {
            field(&mut line, v.as_deref());
            line.push(b'\t');
        }
        escape_into(&mut line, &serde_json::to_string(&r.evidence).unwrap_or_else(|_| "{}".to_owned()));
        line.push(b'\n');
        line
    });
    copy(
        tx,
        "reachability",
        "COPY reachability (snapshot_id, id, source_id, destination_id, protocol, from_port, to_port, address_family, mechanism, evidence) FROM STDIN",
        reach,
    )
    .await?;

    for f in findings {
        tx.execute(
            "INSERT INTO network_findings (snapshot_id, kind, resource_id, reference, account_id, region, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[&snapshot_id, &f.kind, &f.resource_id, &f.reference, &f.account_id, &f.region, &f.detail],
        )
        .await
        .map_err(|e| database("store the flattening's findings", e))?;
    }
    let node_count = i32::try_from(t.nodes.len() + 1).unwrap_or(i32::MAX);
    let row_count = i32::try_from(rows.len()).unwrap_or(i32::MAX);
    let finding_count = i32::try_from(findings.len()).unwrap_or(i32::MAX);
    tx.execute(
        "INSERT INTO network_flattenings (snapshot_id, nodes, reachability_rows, findings, summary) VALUES ($1, $2, $3, $4, $5)",
        &[&snapshot_id, &node_count, &row_count, &finding_count, summary],
    )
    .await
    .map_err(|e| database("record the flattening", e))?;
    Ok(())
}
