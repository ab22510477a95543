//! The ticket lifecycle: open, record, remind when overdue, close when the finding is resolved.

pub mod lifecycle;
pub mod port;
pub mod text;

pub use port::{Alert, Alerts, NewTicket, Ticketing};
