//! The catalogue: every remediation, looked up by control id.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::controls;
use crate::spec::{Remediation, Spec};

/// Every remediation this build has, keyed by control id.
#[derive(Clone)]
pub struct Catalogue {
    by_control: BTreeMap<&'static str, Arc<dyn Remediation>>,
}

impl std::fmt::Debug for Catalogue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Catalogue").field("controls", &self.by_control.keys().collect::<Vec<_>>()).finish()
    }
}

impl Catalogue {
    /// The whole catalogue.
    pub fn standard() -> Self {
        Self::of(controls::all())
    }

    /// A catalogue of the given remediations (tests add their own).
    pub fn of(list: Vec<Arc<dyn Remediation>>) -> Self {
        let mut by_control = BTreeMap::new();
        for r in list {
            let previous = by_control.insert(r.spec().control, r);
            assert!(previous.is_none(), "two remediations for one control");
        }
        Self { by_control }
    }

    /// The remediation of a control id (case-insensitive: `s3.2` finds `S3.2`).
    pub fn get(&self, control: &str) -> Option<Arc<dyn Remediation>> {
        self.by_control.iter().find(|(id, _)| id.eq_ignore_ascii_case(control)).map(|(_, r)| r.clone())
    }

    /// Every spec, in control-id order (S3.10 after S3.9: natural order of the number).
    pub fn specs(&self) -> Vec<&'static Spec> {
        let mut specs: Vec<&'static Spec> = self.by_control.values().map(|r| r.spec()).collect();
        specs.sort_by_key(|s| control_sort_key(s.control));
        specs
    }

    /// The README's catalogue table (a test keeps the README equal to it).
    pub fn markdown_table(&self) -> String {
        let mut out = String::from(
            "| Control | What it changes | Permissions (its session policy) | Disruptive | Verified by | Tested with |\n\
             |---|---|---|---|---|---|\n",
        );
        for s in self.specs() {
            let actions = crate::policy::session_actions(s, crate::policy::Access::Declared);
            let actions: Vec<String> = actions.iter().map(|a| format!("`{a}`")).collect();
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} |\n",
                s.control,
                s.change,
                actions.join(" "),
                if s.disruptive { "yes: approval in PROD" } else { "no" },
                s.verification,
                s.tested_with.as_str()
            ));
        }
        out
    }

    pub fn len(&self) -> usize {
        self.by_control.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_control.is_empty()
    }
}

/// `EC2.19` → ("EC2", 19), so EC2.2 sorts before EC2.19.
fn control_sort_key(control: &str) -> (String, u32) {
    let (family, number) = control.split_once('.').unwrap_or((control, "0"));
    (family.to_ascii_uppercase(), number.parse().unwrap_or(u32::MAX))
}
