//! Parse's rules for uploaded files: which names are valid, who may upload which extensions
//! (Parse Server's `fileUpload` options), the name a file is stored under and the content type
//! it is served with.

use fancy_regex::Regex;

use crate::error::{code, ParseError};

/// Who is uploading, as the upload policy distinguishes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Uploader {
    Master,
    /// App keys only, no user.
    Public,
    User {
        anonymous: bool,
    },
}

/// Parse Server's `fileUpload` options.
#[derive(Debug, Clone)]
pub struct UploadPolicy {
    pub enable_for_public: bool,
    pub enable_for_anonymous_user: bool,
    pub enable_for_authenticated_user: bool,
    /// An extension is allowed when one of these matches it (JavaScript regex syntax, `*` for
    /// any); the master key is not bound by them.
    pub file_extensions: Vec<Regex>,
}

/// Parse Server's default: any extension but `html`/`htm`, in any case.
pub const DEFAULT_FILE_EXTENSIONS: &str = "^(?!(h|H)(t|T)(m|M)(l|L)?$)";

impl Default for UploadPolicy {
    fn default() -> Self {
        UploadPolicy {
            enable_for_public: false,
            enable_for_anonymous_user: false,
            enable_for_authenticated_user: true,
            file_extensions: UploadPolicy::extensions(&[DEFAULT_FILE_EXTENSIONS])
                .unwrap_or_default(),
        }
    }
}

fn save_error(msg: impl Into<String>) -> ParseError {
    ParseError::new(code::FILE_SAVE_ERROR, msg)
}

impl UploadPolicy {
    /// Compiles `fileExtensions` patterns (`*` allows any extension).
    pub fn extensions(patterns: &[&str]) -> Result<Vec<Regex>, String> {
        patterns
            .iter()
            .map(|p| {
                let p = if *p == "*" { ".*" } else { p };
                Regex::new(p).map_err(|e| format!("invalid fileExtensions pattern {p:?}: {e}"))
            })
            .collect()
    }

    /// Checks, in Parse Server's order, that `who` may upload `data` as `name`.
    pub fn check(
        &self,
        who: Uploader,
        name: &str,
        content_type: Option<&str>,
        data: &[u8],
    ) -> Result<(), ParseError> {
        match who {
            Uploader::Master => {}
            Uploader::User { anonymous: true } if !self.enable_for_anonymous_user => {
                return Err(save_error("File upload by anonymous user is disabled."))
            }
            Uploader::User { anonymous: false } if !self.enable_for_authenticated_user => {
                return Err(save_error("File upload by authenticated user is disabled."))
            }
            Uploader::Public if !self.enable_for_public => {
                return Err(save_error("File upload by public is disabled."))
            }
            _ => {}
        }
        if data.is_empty() {
            return Err(save_error("Invalid file upload."));
        }
        validate_filename(name)?;
        if who != Uploader::Master {
            if let Some(ext) = extension(name, content_type) {
                let allowed = self
                    .file_extensions
                    .iter()
                    .any(|r| r.is_match(&ext).unwrap_or(false));
                if !allowed {
                    return Err(save_error(format!(
                        "File upload of extension {ext} is disabled."
                    )));
                }
            }
        }
        Ok(())
    }
}

/// The extension the policy judges: the name's, else the content type's subtype.
fn extension(name: &str, content_type: Option<&str>) -> Option<String> {
    let ext = match name.rsplit_once('.') {
        Some((_, ext)) => Some(ext.to_string()),
        None => content_type.map(|ct| match ct.split_once('/') {
            Some((_, sub)) => sub.to_string(),
            None => ct.to_string(),
        }),
    };
    ext.map(|e| e.split(' ').collect::<String>())
        .filter(|e| !e.is_empty())
}

/// Parse Server's file name rule: 1–128 characters of `[_a-zA-Z0-9][a-zA-Z0-9@. ~_-]*`. It
/// keeps names safe in URLs and paths (no `/`, no leading `.`).
pub fn validate_filename(name: &str) -> Result<(), ParseError> {
    if name.len() > 128 {
        return Err(ParseError::new(
            code::INVALID_FILE_NAME,
            "Filename too long.",
        ));
    }
    let mut chars = name.chars();
    let first_ok = matches!(chars.next(), Some(c) if c.is_ascii_alphanumeric() || c == '_');
    let rest_ok =
        chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '@' | '.' | ' ' | '~' | '_' | '-'));
    if !first_ok || !rest_ok {
        return Err(ParseError::new(
            code::INVALID_FILE_NAME,
            "Filename contains invalid characters.",
        ));
    }
    Ok(())
}

/// The name a file is stored and served under: the client's name, with the content type's
/// extension added when it has none, after `prefix` (a random hex string and `_`, so uploads
/// never collide) unless the server preserves names.
pub fn stored_name(name: &str, content_type: Option<&str>, prefix: Option<&str>) -> String {
    let mut name = name.to_string();
    if !name.contains('.') {
        if let Some(ext) = content_type.and_then(extension_for) {
            name = format!("{name}.{ext}");
        }
    }
    match prefix {
        Some(p) => format!("{p}_{name}"),
        None => name,
    }
}

/// The usual extension of a content type (`image/jpeg` → `jpeg`, `text/plain` → `txt`).
fn extension_for(content_type: &str) -> Option<&'static str> {
    let essence = content_type.split(';').next()?.trim().to_ascii_lowercase();
    let subtype = essence.split_once('/')?.1.to_string();
    let known = mime_guess::get_mime_extensions_str(&essence)?;
    // The list is alphabetical (`text/plain` starts with `conf`); prefer the spelling people
    // use: the subtype itself, then a three-letter one.
    known
        .iter()
        .find(|e| **e == subtype)
        .or_else(|| known.iter().find(|e| **e == "txt"))
        .or_else(|| known.iter().find(|e| e.len() == 3))
        .or_else(|| known.first())
        .copied()
}

/// The content type a stored file is served with, from its extension.
pub fn content_type_of(name: &str) -> String {
    mime_guess::from_path(name)
        .first_raw()
        .unwrap_or("application/octet-stream")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(public: bool) -> UploadPolicy {
        UploadPolicy {
            enable_for_public: public,
            ..UploadPolicy::default()
        }
    }

    #[test]
    fn names() {
        assert!(validate_filename("photo.jpg").is_ok());
        assert!(validate_filename("_a b~c@d-e.f").is_ok());
        for bad in ["", ".hidden", "../etc", "a/b", "é.txt", "a\\b", "a:b"] {
            assert_eq!(validate_filename(bad).unwrap_err().code, 122, "{bad}");
        }
        assert_eq!(
            validate_filename(&"a".repeat(129)).unwrap_err().error,
            "Filename too long."
        );
    }

    #[test]
    fn policy_order_and_extensions() {
        let data = b"x";
        let err = |p: &UploadPolicy, who, name, ct| p.check(who, name, ct, data).unwrap_err().error;
        assert_eq!(
            err(&policy(false), Uploader::Public, "a.txt", None),
            "File upload by public is disabled."
        );
        assert!(policy(false)
            .check(Uploader::Master, "a.txt", None, data)
            .is_ok());
        let open = policy(true);
        assert_eq!(
            open.check(Uploader::Public, "a.txt", None, b"")
                .unwrap_err()
                .error,
            "Invalid file upload."
        );
        assert_eq!(
            err(&open, Uploader::Public, "page.html", None),
            "File upload of extension html is disabled."
        );
        assert_eq!(
            err(&open, Uploader::Public, "page", Some("text/HTM")),
            "File upload of extension HTM is disabled."
        );
        assert!(open
            .check(Uploader::Public, "page.htmlx", None, data)
            .is_ok());
        assert!(open
            .check(Uploader::Master, "page.html", None, data)
            .is_ok());
        assert_eq!(
            err(&open, Uploader::User { anonymous: true }, "a.txt", None),
            "File upload by anonymous user is disabled."
        );
        let only_png = UploadPolicy {
            file_extensions: UploadPolicy::extensions(&["png"]).unwrap(),
            ..open.clone()
        };
        assert!(only_png
            .check(Uploader::Public, "a.png", None, data)
            .is_ok());
        assert_eq!(
            err(&only_png, Uploader::Public, "a.gif", None),
            "File upload of extension gif is disabled."
        );
        let any = UploadPolicy {
            file_extensions: UploadPolicy::extensions(&["*"]).unwrap(),
            ..open
        };
        assert!(any.check(Uploader::Public, "a.html", None, data).is_ok());
    }

    #[test]
    fn stored_names_and_types() {
        assert_eq!(stored_name("a", Some("image/png"), None), "a.png");
        assert_eq!(stored_name("a", Some("image/jpeg"), None), "a.jpeg");
        assert_eq!(
            stored_name("a", Some("text/plain; charset=utf-8"), None),
            "a.txt"
        );
        assert_eq!(
            stored_name("a.bin", Some("image/png"), Some("ff")),
            "ff_a.bin"
        );
        assert_eq!(stored_name("a", None, None), "a");
        assert_eq!(content_type_of("x_a.png"), "image/png");
        assert_eq!(content_type_of("x_a.txt"), "text/plain");
        assert_eq!(content_type_of("x_a"), "application/octet-stream");
    }
}
