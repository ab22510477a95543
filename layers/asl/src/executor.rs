//! (Being written.)
#[derive(Debug)]
pub struct Executor;
#[derive(Debug)]
pub struct ExecutionResult;
#[derive(Debug)]
pub enum ExecutionStatus {}
