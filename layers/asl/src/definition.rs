//! (Being written.)
#[derive(Debug)]
pub struct StateMachine;
