//! A `moto_server` on loopback for adapter tests: one server per test, stopped on drop.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Debug)]
pub struct MotoServer {
    child: Child,
    pub endpoint: String,
}

/// The repository's launcher that runs moto_server with the S3 XML roots aws-sdk-s3 needs
/// (`scripts/lib/moto_server_patched.py`).
fn patched_launcher() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/lib/moto_server_patched.py")
}

/// How to run moto: `SECOPS_MOTO_SERVER` as given; else the patched launcher with the python next
/// to the moto_server found (so the launcher imports that moto); else moto_server itself.
fn moto_command() -> (PathBuf, Vec<String>) {
    let bin = moto_binary();
    if std::env::var_os("SECOPS_MOTO_SERVER").is_none() {
        let python = bin.parent().map(|dir| dir.join("python3")).filter(|p| p.is_file());
        let launcher = patched_launcher();
        if let (Some(python), true) = (python, launcher.is_file()) {
            return (python, vec![launcher.display().to_string()]);
        }
    }
    (bin, Vec::new())
}

/// `SECOPS_MOTO_SERVER`, else the bootstrap tool venv, else PATH.
fn moto_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("SECOPS_MOTO_SERVER") {
        return p.into();
    }
    let tools = std::env::var_os("SECOPS_TOOLS_DIR")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/secops-autopilot/tools")));
    if let Some(candidate) = tools.map(|t| t.join("venv/bin/moto_server")).filter(|p| p.is_file()) {
        return candidate;
    }
    PathBuf::from("moto_server")
}

impl MotoServer {
    /// Start moto_server on 127.0.0.1 and wait (at most 20 s) until it accepts connections.
    /// Panics with what to run when moto is missing: a test without its server must fail.
    pub fn start() -> MotoServer {
        let (bin, launcher_args) = moto_command();
        for _attempt in 0..3 {
            let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).unwrap_or(0);
            let child = Command::new(&bin)
                .args(&launcher_args)
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| {
                    panic!("cannot start {}: {e}; run ./scripts/bootstrap (it installs moto[server])", bin.display())
                });
            let mut server = MotoServer { child, endpoint: format!("http://127.0.0.1:{port}") };
            let deadline = Instant::now() + Duration::from_secs(20);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = server.child.try_wait() {
                    break; // exited: port taken, try another
                }
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return server;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = server.child.kill();
        }
        panic!("moto_server ({}) did not start on loopback in 3 attempts", bin.display())
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The test HTTP client for SDK clients pointed at moto (reqwest, loopback only). It strips the
/// `<account>.` host prefix s3control puts in front of the endpoint (moto serves it on the bare
/// address), and sends requests signed for a named service to another server (a wiremock stub
/// for what moto cannot serve). Harness-only: the product never routes requests itself.
#[derive(Debug, Clone, Default)]
pub struct LoopbackRouter {
    http: reqwest::Client,
    redirects: Vec<(String, String)>,
}

impl LoopbackRouter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Send requests signed for `service` (the SigV4 signing name, e.g. `guardduty`) to `base_uri`.
    pub fn redirect(mut self, service: &str, base_uri: impl Into<String>) -> Self {
        self.redirects.push((format!("/{service}/aws4_request"), base_uri.into()));
        self
    }

    /// `config` with this router as its HTTP client.
    pub fn install(self, config: &aws_config::SdkConfig) -> aws_config::SdkConfig {
        use aws_smithy_runtime_api::client::http::SharedHttpClient;
        config.to_builder().http_client(SharedHttpClient::new(self)).build()
    }

    fn route(&self, request: &aws_smithy_runtime_api::client::orchestrator::HttpRequest) -> String {
        let uri = request.uri().to_owned();
        let (scheme, rest) = uri.split_once("://").expect("absolute uri");
        let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
        let authorization = request.headers().get("authorization").unwrap_or_default();
        if let Some((_, base)) = self.redirects.iter().find(|(scope, _)| authorization.contains(scope.as_str())) {
            return format!("{base}/{path}");
        }
        match host.split_once('.') {
            Some((account, loopback))
                if account.len() == 12
                    && account.bytes().all(|b| b.is_ascii_digit())
                    && loopback.starts_with("127.0.0.1") =>
            {
                format!("{scheme}://{loopback}/{path}")
            }
            _ => uri,
        }
    }
}

impl aws_smithy_runtime_api::client::http::HttpClient for LoopbackRouter {
    fn http_connector(
        &self,
        _: &aws_smithy_runtime_api::client::http::HttpConnectorSettings,
        _: &aws_smithy_runtime_api::client::runtime_components::RuntimeComponents,
    ) -> aws_smithy_runtime_api::client::http::SharedHttpConnector {
        aws_smithy_runtime_api::client::http::SharedHttpConnector::new(self.clone())
    }
}

impl aws_smithy_runtime_api::client::http::HttpConnector for LoopbackRouter {
    fn call(
        &self,
        request: aws_smithy_runtime_api::client::orchestrator::HttpRequest,
    ) -> aws_smithy_runtime_api::client::http::HttpConnectorFuture {
        use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
        use aws_smithy_runtime_api::client::result::ConnectorError;
        use aws_smithy_types::body::SdkBody;
        let url = self.route(&request);
        let method = reqwest::Method::from_bytes(request.method().as_bytes()).expect("method");
        let mut outgoing = self.http.request(method, &url);
        for (name, value) in request.headers() {
            if !name.eq_ignore_ascii_case("host") {
                outgoing = outgoing.header(name, value);
            }
        }
        let body = request.body().bytes().expect("in-memory request body").to_vec();
        let outgoing = outgoing.body(body);
        aws_smithy_runtime_api::client::http::HttpConnectorFuture::new(async move {
            let reply = outgoing.send().await.map_err(|e| ConnectorError::io(e.into()))?;
            let status = reply.status().as_u16();
            let headers = reply.headers().clone();
            let bytes = reply.bytes().await.map_err(|e| ConnectorError::io(e.into()))?;
            let mut response = HttpResponse::new(status.try_into().expect("status"), SdkBody::from(bytes.to_vec()));
            for (name, value) in &headers {
                response.headers_mut().append(name.as_str().to_owned(), value.to_str().unwrap_or_default().to_owned());
            }
            Ok(response)
        })
    }
}
