//! The ticket lifecycle: open, record, remind when overdue, close when the finding is resolved.

pub mod file;
pub mod port;

pub use port::{Alert, Alerts, NewTicket, Ticketing};
