//! `shopify-sync-sim`: run the offline Shopify Admin simulator until stopped.
//!
//! Prints `SHOPIFY_ENDPOINT=...`, `SHOPIFY_SHOP=...` and `SHOPIFY_ACCESS_TOKEN=...`, one
//! per line, then serves. Run with `--help` for the options.
use shopify_sync_sim::catalog::{Catalog, CatalogSpec};
use shopify_sync_sim::{CatalogSource, SimConfig, Simulator};
use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

const HELP: &str = "\
shopify-sync-sim: an offline Shopify Admin GraphQL API on loopback

USAGE: shopify-sync-sim [OPTIONS]

OPTIONS:
  --port N               port to listen on; 0 picks a free one (default 0)
  --host ADDR            address to listen on (default 127.0.0.1)
  --products N           generated products (default 1000)
  --collections N        generated collections (default 57)
  --seed N               generator seed (default 1)
  --max-variants-product add a product with 2,048 variants
  --huge-collection      add a collection holding every product
  --catalog FILE         load the catalog from JSON (the /_sim/dump shape) instead
  --shop DOMAIN          shop domain (default sim-shop.myshopify.com)
  --token TOKEN          accepted access token
  --bucket-size N        cost bucket size (default 2000)
  --restore-rate N       points restored per second (default 100)
  --max-query-cost N     single-document cost limit (default 1000)
  --job-delay-ms N       membership job duration (default 100)
  --index-lag-ms N       search index lag behind writes (default 0)
  --fault-rate R         share of requests failing with a random fault (default 0)
  --fault-seed N         seed of the random faults (default 1)
  -h, --help             this text
";

fn parse(args: &[String]) -> Result<SimConfig, String> {
    let mut config = SimConfig::default();
    let mut spec = CatalogSpec::default();
    let mut host = "127.0.0.1".to_string();
    let mut port: u16 = 0;
    let mut catalog_file: Option<String> = None;
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = |name: &str| it.next().cloned().ok_or(format!("{name} needs a value"));
        fn num<T: std::str::FromStr>(name: &str, v: String) -> Result<T, String> {
            v.parse()
                .map_err(|_| format!("{name}: not a valid number: {v}"))
        }
        match flag.as_str() {
            "--port" => port = num("--port", value("--port")?)?,
            "--host" => host = value("--host")?,
            "--products" => spec.products = num("--products", value("--products")?)?,
            "--collections" => spec.collections = num("--collections", value("--collections")?)?,
            "--seed" => spec.seed = num("--seed", value("--seed")?)?,
            "--max-variants-product" => spec.max_variants_product = true,
            "--huge-collection" => spec.huge_collection = true,
            "--catalog" => catalog_file = Some(value("--catalog")?),
            "--shop" => config.shop = value("--shop")?,
            "--token" => config.access_token = value("--token")?,
            "--bucket-size" => config.bucket_size = num("--bucket-size", value("--bucket-size")?)?,
            "--restore-rate" => {
                config.restore_rate = num("--restore-rate", value("--restore-rate")?)?
            }
            "--max-query-cost" => {
                config.max_query_cost = num("--max-query-cost", value("--max-query-cost")?)?
            }
            "--job-delay-ms" => {
                config.job_delay =
                    Duration::from_millis(num("--job-delay-ms", value("--job-delay-ms")?)?)
            }
            "--index-lag-ms" => {
                config.index_lag =
                    Duration::from_millis(num("--index-lag-ms", value("--index-lag-ms")?)?)
            }
            "--fault-rate" => config.fault_rate = num("--fault-rate", value("--fault-rate")?)?,
            "--fault-seed" => config.fault_seed = num("--fault-seed", value("--fault-seed")?)?,
            other => return Err(format!("unknown option {other}; see --help")),
        }
    }
    config.listen = format!("{host}:{port}")
        .parse::<SocketAddr>()
        .map_err(|e| format!("--host {host}: {e}"))?;
    config.catalog = match catalog_file {
        Some(path) => {
            let text =
                std::fs::read_to_string(&path).map_err(|e| format!("--catalog {path}: {e}"))?;
            let catalog: Catalog =
                serde_json::from_str(&text).map_err(|e| format!("--catalog {path}: {e}"))?;
            CatalogSource::Loaded(catalog)
        }
        None => CatalogSource::Generated(spec),
    };
    Ok(config)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "-h" || a == "--help") {
        print!("{HELP}");
        return ExitCode::SUCCESS;
    }
    let config = match parse(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("shopify-sync-sim: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("shopify-sync-sim: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        let sim = match Simulator::start(config).await {
            Ok(sim) => sim,
            Err(e) => {
                eprintln!("shopify-sync-sim: cannot listen: {e}");
                return ExitCode::FAILURE;
            }
        };
        println!("{}", sim.env_lines());
        let _ = std::io::stdout().flush();
        let _ = tokio::signal::ctrl_c().await;
        sim.shutdown().await;
        ExitCode::SUCCESS
    })
}
