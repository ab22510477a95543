//! The member-account reader role grants exactly what the AWS collectors declare: a collector
//! that calls something new without declaring it, or a role that grants more, fails here.

use secops_inventory::sources::aws::COLLECTORS;
use serde_yaml_ng::Value;
use std::collections::BTreeSet;

#[test]
fn the_reader_role_grants_exactly_the_declared_actions() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../inventory-reader-role.yaml");
    let text = std::fs::read_to_string(path).unwrap();
    let template: Value = serde_yaml_ng::from_str(&text).unwrap();
    let statements =
        &template["Resources"]["InventoryReaderRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"];
    let statements = statements.as_sequence().unwrap();
    assert_eq!(statements.len(), 1, "one statement: describe and list only");
    assert_eq!(statements[0]["Effect"].as_str(), Some("Allow"));
    let granted: BTreeSet<String> =
        statements[0]["Action"].as_sequence().unwrap().iter().map(|a| a.as_str().unwrap().to_owned()).collect();
    let declared: BTreeSet<String> =
        COLLECTORS.iter().flat_map(|c| c.actions.iter().map(|a| (*a).to_owned())).collect();
    assert_eq!(granted, declared);
    for action in &granted {
        let verb = action.split(':').nth(1).unwrap();
        assert!(
            ["Describe", "List", "Get"].iter().any(|v| verb.starts_with(v)) && verb != "GetObject",
            "{action} is not a read-only inventory action"
        );
    }
}
