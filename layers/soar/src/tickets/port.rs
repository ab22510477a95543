//! The ticketing and incident-alert ports. They live in `secops_core::outbound` (notify
//! delivers them for every capability); re-exported here where decide uses them.

pub use secops_core::outbound::{Alert, Alerts, NewTicket, Ticketing};
