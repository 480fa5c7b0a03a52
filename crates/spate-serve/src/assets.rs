//! The dashboard, compiled into the binary: one page, its script and its style sheet. No
//! request path is ever mapped to a file: these are the only documents served.
//!
//! The script draws the charts as inline SVG and builds every element with
//! `textContent`/`setAttribute`, never `innerHTML`, so a project or session name from a
//! transcript is shown as text, never run; the Content-Security-Policy header (see
//! [`crate::api`]) forbids inline scripts besides.

/// `/`.
pub const INDEX_HTML: &str = include_str!("../assets/index.html");
/// `/app.js`.
pub const APP_JS: &str = include_str!("../assets/app.js");
/// `/app.css`.
pub const APP_CSS: &str = include_str!("../assets/app.css");
/// `/favicon.svg`.
pub const FAVICON_SVG: &str = include_str!("../assets/favicon.svg");
