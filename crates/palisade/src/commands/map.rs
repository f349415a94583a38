//! `palisade map`: who talks to whom, on which ports, and what the policies do to it.

use crate::commands::discover::{load_cluster, map_options, read_captures};
use crate::discover_args::{MapArgs, MapLevelArg};
use crate::input::{format, input, load_checked};
use palisade_discover::{MapBuilder, MapLevel};
use palisade_render::map::{FORMATS, render};
use std::io::Write;
use std::process::ExitCode;

pub fn run(args: MapArgs) -> anyhow::Result<ExitCode> {
    let out_format = format(&args.output, &FORMATS)?;
    let mut options = map_options(&args.input)?;
    options.level = match args.level {
        MapLevelArg::Workload => MapLevel::Workload,
        MapLevelArg::Namespace => MapLevel::Namespace,
    };
    let loaded = load_cluster(&args.input)?;
    let model = &loaded.model;
    let proposed = if args.proposed.is_empty() {
        None
    } else {
        let inputs: Vec<_> = args.proposed.iter().map(|p| input(p)).collect();
        let what = "the proposed policies (--proposed)";
        Some(
            load_checked(
                &inputs,
                &args.input.default_namespace,
                &args.input.load,
                Some(what),
            )?
            .model,
        )
    };
    let mut builder = MapBuilder::new(model, options);
    let mut sessions = 0u64;
    read_captures(&args.input, model, proposed.as_ref(), |r, keep| {
        if keep {
            sessions += 1;
            builder.add(r);
        }
    })?;
    let map = builder.finish();
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(crate::input::rendered(out_format, |f| render(&map, f))?.as_bytes())?;
    stdout.flush()?;
    if sessions == 0 {
        crate::output::eprintln_sanitized!(
            "palisade: the capture holds no session (after filters): the map is empty"
        );
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}
