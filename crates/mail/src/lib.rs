//! Outgoing mail. [`Mailer`] is all the server asks of an email adapter: deliver one plain-text
//! message. [`SmtpMailer`] delivers over SMTP (lettre, on tokio), in clear for a local relay or
//! with STARTTLS or implicit TLS (rustls) for a remote one. Another adapter (an HTTP mail API,
//! say) only has to implement the trait.

use std::time::Duration;

use async_trait::async_trait;
use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// One message: plain text to one recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub text: String,
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("invalid address {0:?}")]
    Address(String),
    #[error("cannot build the message: {0}")]
    Build(String),
    #[error("cannot deliver the message: {0}")]
    Transport(String),
}

/// An email adapter.
#[async_trait]
pub trait Mailer: Send + Sync + 'static {
    async fn send(&self, mail: Mail) -> Result<(), MailError>;
}

/// How the SMTP connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// Plain text: only for a relay on this machine or a test sink.
    None,
    /// Plain connection upgraded with STARTTLS (usually port 587); refused if the server cannot.
    StartTls,
    /// TLS from the first byte (usually port 465).
    Tls,
}

impl std::str::FromStr for Security {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "none" | "false" | "off" => Ok(Security::None),
            "starttls" => Ok(Security::StartTls),
            "tls" | "true" | "on" => Ok(Security::Tls),
            other => Err(format!(
                "unknown SMTP security {other:?} (none, starttls or tls)"
            )),
        }
    }
}

/// Where and as whom to send.
#[derive(Debug, Clone)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    /// The sender, `address` or `Name <address>`.
    pub from: String,
    pub username: Option<String>,
    pub password: Option<String>,
    pub security: Security,
    /// How long one delivery may take before it is given up.
    pub timeout: Duration,
}

/// Delivers over SMTP, one connection per message (mails are rare: sign-ups and resets).
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl SmtpMailer {
    pub fn new(config: SmtpConfig) -> Result<Self, MailError> {
        let from: Mailbox = config
            .from
            .parse()
            .map_err(|_| MailError::Address(config.from.clone()))?;
        let tls = |host: &str| {
            TlsParameters::new(host.to_string()).map_err(|e| MailError::Build(e.to_string()))
        };
        let tls = match config.security {
            Security::None => Tls::None,
            Security::StartTls => Tls::Required(tls(&config.host)?),
            Security::Tls => Tls::Wrapper(tls(&config.host)?),
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.host)
            .port(config.port)
            .tls(tls)
            .timeout(Some(config.timeout));
        if let Some(user) = config.username {
            builder =
                builder.credentials(Credentials::new(user, config.password.unwrap_or_default()));
        }
        Ok(SmtpMailer {
            transport: builder.build(),
            from,
        })
    }
}

/// The message as it goes on the wire.
fn message(from: &Mailbox, mail: Mail) -> Result<Message, MailError> {
    let to: Mailbox = mail
        .to
        .parse()
        .map_err(|_| MailError::Address(mail.to.clone()))?;
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(mail.subject)
        .header(ContentType::TEXT_PLAIN)
        .body(mail.text)
        .map_err(|e| MailError::Build(e.to_string()))
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, mail: Mail) -> Result<(), MailError> {
        let message = message(&self.from, mail)?;
        self.transport
            .send(message)
            .await
            .map_err(|e| MailError::Transport(e.to_string()))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_messages_and_refuses_bad_addresses() {
        let from: Mailbox = "App <app@example.com>".parse().expect("mailbox");
        let mail = |to: &str| Mail {
            to: to.into(),
            subject: "Hi".into(),
            text: "Click: http://x/?a=1&b=2".into(),
        };
        let wire = String::from_utf8(message(&from, mail("a@b.c")).expect("message").formatted())
            .expect("utf-8");
        assert!(wire.contains("To: a@b.c"), "{wire}");
        assert!(wire.contains("Subject: Hi"), "{wire}");
        assert!(matches!(
            message(&from, mail("not an address")),
            Err(MailError::Address(_))
        ));
        assert_eq!("STARTTLS".parse(), Ok(Security::StartTls));
        assert!("maybe".parse::<Security>().is_err());
    }
}
