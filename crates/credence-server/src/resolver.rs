//! The system resolver behind the domain's `HostResolver` port (the guard of webhook URLs).

use std::net::IpAddr;
use std::time::Duration;

use async_trait::async_trait;
use credence_domain::ports::HostResolver;

/// How long the guard waits for DNS: a name that does not answer in time proves no private
/// address, and the request goes on (deliveries check the address again when they connect).
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(3);

/// `getaddrinfo` through tokio's `lookup_host`: `/etc/hosts`, then DNS.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemResolver;

#[async_trait]
impl HostResolver for SystemResolver {
    async fn resolve(&self, host: &str, port: u16) -> Vec<IpAddr> {
        match tokio::time::timeout(LOOKUP_TIMEOUT, tokio::net::lookup_host((host, port))).await {
            Ok(Ok(addresses)) => addresses.map(|a| a.ip()).collect(),
            Ok(Err(_)) | Err(_) => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn resolves_localhost_and_not_an_invalid_name() {
        let found = SystemResolver.resolve("localhost", 80).await;
        assert!(found.iter().all(IpAddr::is_loopback), "{found:?}");
        assert!(
            SystemResolver
                .resolve("nowhere.invalid", 80)
                .await
                .is_empty()
        );
    }
}
