//! The embedded executor (issue 3): state transitions per second on one core.

use anyhow::{bail, Result};
use secops_asl::bench::{
    findings_event, map_heavy_input, map_heavy_machine, map_heavy_transitions, noop_findings_machine,
};
use secops_asl::{ExecutionStatus, Executor, VirtualClock};
use std::sync::Arc;

use super::{median, ms, on_one_core, thousands, time_runs, Ctx, Row};

const TARGET_PER_SECOND: f64 = 100_000.0;

pub async fn run(ctx: &Ctx) -> Result<Vec<Row>> {
    let (items, runs, findings) = if ctx.quick { (500, 2, 10) } else { (10_000, 7, 100) };
    let template = ctx.template.clone();
    on_one_core(move |rt| {
        let machine = map_heavy_machine();
        let executor = Executor::builder().clock(Arc::new(VirtualClock::starting_now())).build();
        let input = map_heavy_input(items);
        // One untimed run that must succeed: a broken executor is an error, not a fast figure.
        let check = rt.block_on(executor.run(&machine, "bench", input.clone()));
        if check.status != ExecutionStatus::Succeeded {
            bail!("the Map definition did not succeed: {}", check.summary());
        }
        let times = time_runs(runs, || {
            rt.block_on(executor.run(&machine, "bench", input.clone()));
            Ok(())
        })?;
        let transitions = map_heavy_transitions(items) as f64;
        let rate = transitions / median(&times).as_secs_f64();
        let map = Row::new(
            "asl",
            "asl.map_transitions",
            format!("Pass/Choice/Map definition, {items} items ({transitions} transitions), median of {runs} runs"),
            "> 100,000 transitions/s on one core (issue 3)",
        )
        .measured(
            rate,
            "transitions/s",
            format!("{} transitions/s ({:.0} ms per run)", thousands(rate), ms(median(&times))),
            Some(rate > TARGET_PER_SECOND),
        );

        let (executor, findings_machine) = noop_findings_machine(&template).map_err(anyhow::Error::msg)?;
        let event = findings_event(findings);
        let check = rt.block_on(executor.run(&findings_machine, "findings", event.clone()));
        if check.status != ExecutionStatus::Succeeded {
            bail!("the findings machine did not succeed: {}", check.summary());
        }
        let transitions = check.history.iter().filter(|e| e.kind.name().ends_with("StateEntered")).count() as f64;
        let times = time_runs(runs, || {
            rt.block_on(executor.run(&findings_machine, "findings", event.clone()));
            Ok(())
        })?;
        let per_event = median(&times);
        let rate = transitions / per_event.as_secs_f64();
        let machine = Row::new(
            "asl",
            "asl.findings_machine",
            format!("findings.asl.json, {findings}-finding event, no-op handlers ({transitions} transitions)"),
            "none named: overhead negligible next to the handlers (issue 3)",
        )
        .measured(
            rate,
            "transitions/s",
            format!("{} transitions/s ({:.1} ms per event)", thousands(rate), ms(per_event)),
            None,
        );
        Ok(vec![map, machine])
    })
    .await
}
