//! The loopback Step Functions endpoint for task-token callbacks (SendTaskSuccess,
//! SendTaskFailure, SendTaskHeartbeat), so the analyst uses `aws-sdk-sfn` unchanged.
//! (Being written.)
