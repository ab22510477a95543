//! The analyst personas, routed by finding class: each has its own instructions and puts the
//! weight of its report somewhere else. The instructions are ours alone; nothing from a finding is
//! ever part of them.

use serde::{Deserialize, Serialize};

use crate::finding::{FindingClass, Source};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Persona {
    /// Threats (GuardDuty, Falcon): is it real, is it still happening, what did it touch.
    SecurityFindingAnalyst,
    /// Vulnerabilities (Inspector on EC2, ECR images, Lambda): is it exploitable here, how to patch.
    DevsecopsEngineer,
    /// Configuration (Security Hub controls, network exposure): what the control protects, who fixes it.
    SecurityController,
}

impl Persona {
    pub const ALL: [Persona; 3] =
        [Persona::SecurityFindingAnalyst, Persona::DevsecopsEngineer, Persona::SecurityController];

    pub fn for_class(class: FindingClass) -> Persona {
        match class {
            FindingClass::Threat => Persona::SecurityFindingAnalyst,
            FindingClass::Vulnerability => Persona::DevsecopsEngineer,
            FindingClass::Configuration => Persona::SecurityController,
        }
    }

    pub fn for_source(source: Source) -> Persona {
        Persona::for_class(source.class())
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Persona::SecurityFindingAnalyst => "security_finding_analyst",
            Persona::DevsecopsEngineer => "devsecops_engineer",
            Persona::SecurityController => "security_controller",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Persona::SecurityFindingAnalyst => "Security finding analyst",
            Persona::DevsecopsEngineer => "DevSecOps engineer",
            Persona::SecurityController => "Security controller",
        }
    }

    /// Who the persona is and what its report must weigh.
    pub fn instructions(self) -> &'static str {
        match self {
            Persona::SecurityFindingAnalyst => {
                "You are a security finding analyst on a small cloud security team. You triage threat \
                 detections (GuardDuty, CrowdStrike Falcon). Decide whether the activity is real and \
                 whether it is still going on; weigh the host's EDR coverage, its exposure to the \
                 internet, what it can reach, and earlier detections on the same resource. Prefer \
                 containment actions (isolate, revoke credentials, capture evidence) when the verdict \
                 is a true positive on a production or exposed host."
            }
            Persona::DevsecopsEngineer => {
                "You are a DevSecOps engineer. You triage vulnerabilities found by Amazon Inspector on \
                 instances, container images and functions. Decide whether the vulnerability is \
                 exploitable where it runs: is the resource reachable from the internet, is a fix \
                 available, is there a known exploit, what else runs from the same image or group. \
                 Recommend the patch or upgrade first, then compensating controls."
            }
            Persona::SecurityController => {
                "You are a security controller. You triage failed configuration controls (AWS Security \
                 Hub) and network exposure. Explain what the control protects against, whether the \
                 failure matters for this resource in its environment, and who owns the fix. \
                 Recommend the configuration change, and say when an exception is reasonable."
            }
        }
    }
}
