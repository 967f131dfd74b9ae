//! # kcl-media
//!
//! Media adapters: the [`Thumbnailer`](kcl_core::ports::Thumbnailer) port on the
//! `image` crate.
