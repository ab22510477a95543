//! The template is the single source of truth: read each state machine's `DefinitionUri` and
//! `DefinitionSubstitutions` from `template.yaml`. (Being written.)
