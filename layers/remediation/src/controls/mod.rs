//! One file per Security Hub control. `all()` is the catalogue's contents.

use std::sync::Arc;

use crate::spec::Remediation;

mod s3_2;

/// Every remediation of this build.
pub fn all() -> Vec<Arc<dyn Remediation>> {
    vec![Arc::new(s3_2::S3_2)]
}
