//! `arn:aws:states:::ecs:runTask.waitForTaskToken` locally: the analyst binary as an isolated
//! subprocess with the container overrides as its environment. (Being written.)
