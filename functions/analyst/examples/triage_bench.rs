//! The triage batch benchmark: triage.asl.json on the embedded executor over the default
//! generated estate, one real `analyst` process per finding, against a language-model stub (the
//! OpenAI-compatible wire format) that answers every call after a fixed delay.
//!
//! Budget (issue 9): 30 findings at concurrency 10 with a 5 s model finish in under 20 s wall —
//! three waves, so under 5 s of orchestration for the batch — and one analyst process peaks under
//! 50 MB of resident memory.
//!
//! ```bash
//! cargo build --workspace --bins --examples          # the analyst binary beside the example
//! target/debug/examples/triage_bench [--findings 30] [--concurrency 10] [--delay-ms 5000]
//! ```

#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use secops_inventory::fixtures::EstateSpec;
use serde_json::json;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let findings = arg("--findings", 30);
    let concurrency = arg("--concurrency", 10);
    let delay = Duration::from_millis(arg("--delay-ms", 5000));
    let analyst = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent()?.parent().map(|d| d.join("analyst")))
        .filter(|p| p.is_file())
        .expect("the analyst binary next to the examples folder: cargo build --workspace --bins --examples");

    let setup = Instant::now();
    let mut world = support::world(&EstateSpec::default()).await;
    let model = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(secops_triage::bench::stub_chat_completion()).set_delay(delay),
        )
        .mount(&model)
        .await;
    let base = format!("{}/v1", model.uri());
    let real = world.analyst(
        analyst.to_str().expect("a UTF-8 path"),
        &[("SECOPS_TRIAGE_PROVIDER", "openai"), ("SECOPS_OPENAI_BASE_URL", &base), ("SECOPS_OPENAI_MODEL", "stub")],
    );
    println!("estate ready in {:.1} s", setup.elapsed().as_secs_f64());

    let input = json!({"since": "2020-01-01T00:00:00Z", "limit": findings, "concurrency": concurrency});
    let started = Instant::now();
    let result = world.run(input, real, BTreeMap::new()).await;
    let wall = started.elapsed();
    let output = &result.summary()["output"];
    let totals = &output["batch"]["totals"];
    let waves = findings.div_ceil(concurrency.max(1));
    let floor = delay * u32::try_from(waves).unwrap_or(u32::MAX);
    println!("status {:?}", result.status);
    println!(
        "{} findings at concurrency {} with a {} ms model: {:.2} s wall ({} waves, model floor {:.1} s, orchestration {:.2} s)",
        totals["selected"],
        concurrency,
        delay.as_millis(),
        wall.as_secs_f64(),
        waves,
        floor.as_secs_f64(),
        wall.saturating_sub(floor).as_secs_f64()
    );
    println!(
        "analysed {}, failed {}, fallbacks {}; per finding {} ms mean, {} ms p95, {} ms max; largest analyst peak RSS {} KiB",
        totals["analysed"],
        totals["failed"],
        totals["fallbacks"],
        totals["duration_ms"]["mean"],
        totals["duration_ms"]["p95"],
        totals["duration_ms"]["max"],
        totals["max_peak_memory_kb"]
    );
    world.server.stop().await;
}
