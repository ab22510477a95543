//! The pipeline's clock lives in `secops_core::clock` (notify's breakers use it too).

pub use secops_core::clock::{Clock, ManualClock, SystemClock};
