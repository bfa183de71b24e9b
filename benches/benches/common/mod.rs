//! Reading criterion's own estimates back, to print our overhead as a ratio.
#![allow(dead_code)] // each bench uses a part

use std::path::PathBuf;

/// Where criterion writes its results: `$CRITERION_HOME`, else `<target>/criterion`.
fn criterion_home() -> Option<PathBuf> {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return Some(PathBuf::from(home));
    }
    if let Some(target) = std::env::var_os("CARGO_TARGET_DIR") {
        return Some(PathBuf::from(target).join("criterion"));
    }
    // target/<profile>/deps/<bench>
    let exe = std::env::current_exe().ok()?;
    Some(exe.parent()?.parent()?.parent()?.join("criterion"))
}

fn read_json(group: &str, id: &str, file: &str) -> Option<serde_json::Value> {
    let path = criterion_home()?
        .join(group)
        .join(id)
        .join("new")
        .join(file);
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

/// Mean and median of one benchmark, in nanoseconds.
pub(crate) fn estimate(group: &str, id: &str) -> Option<(f64, f64)> {
    let json = read_json(group, id, "estimates.json")?;
    Some((
        json["mean"]["point_estimate"].as_f64()?,
        json["median"]["point_estimate"].as_f64()?,
    ))
}

/// The fastest and slowest sample of one benchmark, per iteration, in nanoseconds.
pub(crate) fn spread(group: &str, id: &str) -> Option<(f64, f64)> {
    let json = read_json(group, id, "sample.json")?;
    let iters = json["iters"].as_array()?;
    let times = json["times"].as_array()?;
    let per_iter: Vec<f64> = iters
        .iter()
        .zip(times)
        .filter_map(|(i, t)| Some(t.as_f64()? / i.as_f64()?))
        .collect();
    let min = per_iter.iter().copied().fold(f64::INFINITY, f64::min);
    let max = per_iter.iter().copied().fold(0.0, f64::max);
    Some((min, max))
}

pub(crate) fn human(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else {
        format!("{:.1} us", ns / 1e3)
    }
}

/// Prints `ours / floor` of two benchmarks of a group (by mean and by median), with a goal.
pub(crate) fn print_ratio(group: &str, ours: &str, floor: &str, goal: &str) {
    match (estimate(group, ours), estimate(group, floor)) {
        (Some((ours_mean, ours_median)), Some((floor_mean, floor_median))) => println!(
            "RATIO {group}: {ours} {} / {floor} {} = {:.3}x mean, {:.3}x median ({goal})",
            human(ours_mean),
            human(floor_mean),
            ours_mean / floor_mean,
            ours_median / floor_median,
        ),
        _ => println!("RATIO {group}: no estimates (run with `cargo bench`)"),
    }
}

/// Whether criterion runs for real (`cargo bench`), not as a smoke test (`cargo test`).
pub(crate) fn measuring() -> bool {
    let args: Vec<String> = std::env::args().collect();
    args.iter().any(|a| a == "--bench") && !args.iter().any(|a| a == "--profile-time")
}

/// Our time over the floor's, measured interleaved: rounds of `batch` calls of each, the
/// order alternating, so load from other processes on a shared machine hits both alike.
/// Prints and returns the median of the per-round ratios.
pub(crate) fn interleaved_ratio(
    group: &str,
    labels: [&str; 2],
    rounds: usize,
    batch: usize,
    mut ours: impl FnMut(),
    mut floor: impl FnMut(),
) -> f64 {
    let time = |f: &mut dyn FnMut()| {
        let start = std::time::Instant::now();
        for _ in 0..batch {
            f();
        }
        start.elapsed().as_secs_f64()
    };
    let mut ratios = Vec::with_capacity(rounds);
    let (mut total_ours, mut total_floor) = (0.0, 0.0);
    for round in 0..rounds {
        let (a, b) = if round % 2 == 0 {
            let a = time(&mut ours);
            (a, time(&mut floor))
        } else {
            let b = time(&mut floor);
            (time(&mut ours), b)
        };
        total_ours += a;
        total_floor += b;
        ratios.push(a / b);
    }
    ratios.sort_by(f64::total_cmp);
    let median = ratios[ratios.len() / 2];
    let per = |total: f64| human(total * 1e9 / (rounds * batch) as f64);
    println!(
        "INTERLEAVED {group}: {} {} / {} {} per op; median of {rounds} round ratios = {median:.3}x (p10 {:.3}x, p90 {:.3}x)",
        labels[0],
        per(total_ours),
        labels[1],
        per(total_floor),
        ratios[ratios.len() / 10],
        ratios[ratios.len() * 9 / 10],
    );
    median
}
