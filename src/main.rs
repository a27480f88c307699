//! The `berth` command: parse flags, start the server, stop on SIGINT/SIGTERM.

use berth::config::ExecutorKind;
use berth::executor::deferred::Readiness;
use berth::{Config, Server};
use clap::Parser;
use std::net::SocketAddr;
use std::process::ExitCode;

/// Amazon ECS on your laptop and in CI: the real ECS API on one port, tasks run as Docker
/// containers. Point the AWS CLI, SDKs or Terraform at it with
/// `--endpoint-url http://127.0.0.1:4566`.
#[derive(Parser, Debug)]
#[command(name = "berth", version, about)]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    /// Address of the API port (all services). Port 0 picks a free port; the log says which.
    #[arg(long, env = "BERTH_BIND", default_value = "127.0.0.1:4566")]
    bind: SocketAddr,
    /// The AWS account id berth answers as (in ARNs and STS GetCallerIdentity).
    #[arg(long, env = "BERTH_ACCOUNT_ID", default_value = "000000000000")]
    account_id: String,
    /// Region used when a request carries none in its SigV4 credential scope.
    #[arg(long, env = "BERTH_REGION", default_value = "us-east-1")]
    region: String,
    /// Log filter, in tracing's EnvFilter syntax (e.g. `info`, `berth=debug`).
    #[arg(long, env = "BERTH_LOG", default_value = "info")]
    log: String,
    /// Largest request body accepted, in bytes; larger ones get 413.
    #[arg(long, env = "BERTH_MAX_BODY_BYTES", default_value_t = 10 * 1024 * 1024)]
    max_body_bytes: usize,
    /// The fake executor's host: CPU units it offers as a container instance (EC2 launch type).
    #[arg(long, env = "BERTH_HOST_CPU", default_value_t = 4096)]
    host_cpu: i32,
    /// The fake executor's host: memory (MiB) it offers as a container instance.
    #[arg(long, env = "BERTH_HOST_MEMORY", default_value_t = 8192)]
    host_memory: i32,
    /// What runs tasks: the local Docker engine (DOCKER_HOST honoured) or an in-memory fake.
    #[arg(long, env = "BERTH_EXECUTOR", value_enum, default_value = "docker")]
    executor: ExecutorKind,
    /// Host address bridge-mode port mappings are published on.
    #[arg(long, env = "BERTH_PUBLISH_IP", default_value = "127.0.0.1")]
    publish_ip: String,
    /// Where the task metadata and credentials endpoints listen (what containers reach).
    #[arg(long, env = "BERTH_METADATA_BIND", default_value = "169.254.170.2:80")]
    metadata_bind: std::net::SocketAddr,
    /// Where the DNS server answers the host for Cloud Map's DNS namespaces (UDP and TCP).
    #[arg(long, env = "BERTH_DNS_BIND", default_value = "127.0.0.1:4553")]
    dns_bind: SocketAddr,
    /// Where the DNS server answers task containers (their resolver; Docker executor only).
    #[arg(long, env = "BERTH_DNS_TASK_BIND", default_value = "169.254.170.2:53")]
    dns_task_bind: SocketAddr,
    /// Also forward the host's queries for other names to the host's resolvers (off: refused).
    #[arg(long, env = "BERTH_DNS_FORWARD")]
    dns_forward: bool,
    /// Apply the API calls (JSON/YAML files) and run the executable scripts in DIR, in name
    /// order, at start; `/_berth/health` says `"init": "done"` once they all succeeded.
    #[arg(long, env = "BERTH_INIT_DIR", value_name = "DIR")]
    init_dir: Option<std::path::PathBuf>,
    /// Do not serve `GET /metrics` (nor count requests for it).
    #[arg(long, env = "BERTH_NO_METRICS")]
    no_metrics: bool,
    /// Log lines as text for people, or as JSON objects for log collectors.
    #[arg(long, env = "BERTH_LOG_FORMAT", value_enum, default_value = "text")]
    log_format: LogFormat,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
enum LogFormat {
    Text,
    Json,
}

#[derive(clap::Subcommand, Debug)]
enum Command {
    /// Return a running berth to its just-started state (POST /_berth/reset): every service's
    /// state in every region, its containers, networks and volumes.
    Reset {
        /// The running berth.
        #[arg(
            long,
            env = "BERTH_ENDPOINT_URL",
            default_value = "http://127.0.0.1:4566"
        )]
        endpoint_url: String,
        /// Reset only this service (`ecs`, `logs`, `servicediscovery` …).
        #[arg(long)]
        service: Option<String>,
    },
}

fn main() -> ExitCode {
    let args = Args::parse();
    if let Some(Command::Reset {
        endpoint_url,
        service,
    }) = &args.command
    {
        return reset(endpoint_url, service.as_deref());
    }
    let filter = tracing_subscriber::EnvFilter::try_new(&args.log)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match args.log_format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs.json().init(),
    }
    let config = Config {
        init_dir: args.init_dir,
        metrics: !args.no_metrics,
        executor: args.executor,
        publish_ip: args.publish_ip,
        metadata_bind: args.metadata_bind,
        dns_bind: args.dns_bind,
        dns_task_bind: args.dns_task_bind,
        dns_forward: args.dns_forward,
        bind: args.bind,
        account_id: args.account_id,
        region: args.region,
        max_body_bytes: args.max_body_bytes,
        fake_host_cpu: args.host_cpu,
        fake_host_memory: args.host_memory,
    };
    // Two cores are the norm where berth runs; a small runtime starts faster and idles lighter.
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("berth: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let server = match Server::start(config).await {
            Ok(server) => server,
            Err(e) => {
                tracing::error!("cannot listen: {e}");
                return ExitCode::FAILURE;
            }
        };
        tracing::info!(
            "berth {} listening on {}",
            env!("CARGO_PKG_VERSION"),
            server.local_addr()
        );
        let mut executor = server.executor();
        let failed = async move {
            let failed = executor.wait_for(|r| matches!(r, Readiness::Failed(_)));
            // Closed without failing (the start-up is done): never.
            if failed.await.is_err() {
                std::future::pending::<()>().await;
            }
        };
        // No engine, no tasks: berth says so (the log has why) rather than serve half.
        let code = tokio::select! {
            _ = shutdown_signal() => ExitCode::SUCCESS,
            _ = failed => ExitCode::FAILURE,
        };
        tracing::info!("shutting down");
        server.shutdown().await;
        code
    })
}

/// `berth reset`: one POST to a running berth, on a runtime of one thread.
fn reset(endpoint_url: &str, service: Option<&str>) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("berth: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(berth::admin::client::reset(endpoint_url, service)) {
        Ok(body) => {
            println!("{body}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("berth reset: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
