//! `hone fetch [NAME…|all]`: fetch assets into the cache (idempotent).

use clap::Args;
use hone::data::assets::{FetchOptions, FetchOutcome, catalog, fetch, find_asset};

use super::{Context, Failure};

#[derive(Debug, Args)]
pub struct FetchArgs {
    /// Asset names, or `all`. With no name, lists the assets.
    pub names: Vec<String>,
    /// Fetch again even when a complete copy is cached.
    #[arg(long)]
    pub force: bool,
}

pub fn run(ctx: &Context, args: FetchArgs) -> Result<(), Failure> {
    if args.names.is_empty() {
        println!("cache: {}", ctx.cache.assets_dir().display());
        for a in catalog() {
            let state = if ctx
                .cache
                .asset_dir(a.name)
                .join(".hone-asset.json")
                .exists()
            {
                "fetched"
            } else {
                "-"
            };
            println!(
                "{:22} {:8} {:45} {}",
                a.name, state, a.package, a.description
            );
        }
        println!(
            "{:22} {:8} {:45} converted from minilm-l3-onnx on first use",
            "minilm-l3", "", ""
        );
        return Ok(());
    }
    let derived = hone::models::derived_names();
    let (models, names): (Vec<&String>, Vec<&String>) = args
        .names
        .iter()
        .partition(|n| derived.contains(&n.as_str()));
    let assets = if names.iter().any(|n| *n == "all") {
        catalog().iter().collect::<Vec<_>>()
    } else {
        let mut v = Vec::new();
        for n in &names {
            v.push(find_asset(n).map_err(|e| Failure::Usage(e.to_string()))?);
        }
        v
    };
    let opts = FetchOptions {
        force: args.force,
        ..ctx.fetch.clone()
    };
    for name in models {
        let dir = hone::models::resolve_model(name, &ctx.cache, &opts)?;
        println!("{name:22} converted: {}", dir.display());
    }
    for asset in assets {
        match fetch(asset, &ctx.cache, &opts)? {
            FetchOutcome::AlreadyPresent(p) => {
                println!("{:22} already fetched: {}", asset.name, p.display())
            }
            FetchOutcome::Fetched(p) => println!("{:22} fetched: {}", asset.name, p.display()),
        }
    }
    Ok(())
}
