//! OCR with Tesseract, through `leptess` (feature `tesseract`).

use std::ffi::CString;
use std::fmt;
use std::sync::{Mutex, PoisonError};

use fast_image_resize::{
    images::Image as FirImage, FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer,
};
use image::GrayImage;
use kcl_core::ports::{ImageError, ImageLimits, OcrEngine, OcrError, OcrText};
use leptess::tesseract::TessApi;
use leptess::Variable;

/// Text lines shorter than this (in pixels, ascender to descender) are upscaled
/// before recognition, so that their height reaches about [`TARGET_TEXT_HEIGHT`].
const MIN_TEXT_HEIGHT: u32 = 20;
/// The text height upscaling aims at.
const TARGET_TEXT_HEIGHT: u32 = 32;
/// Largest upscaling factor.
const MAX_UPSCALE: u32 = 3;

/// How Tesseract splits a page into blocks and lines before reading them (its "page
/// segmentation mode", `--psm` of the command line).
///
/// The default is [`PageSegmentation::SingleBlock`]: on the rendered photo-of-a-document
/// set of `BENCHMARKS.md` it reads as well as or better than automatic layout (which
/// split some paragraphs into false columns) and takes less time. Choose
/// [`PageSegmentation::Auto`] for pages with several columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum PageSegmentation {
    /// Fully automatic layout analysis (PSM 3, the command line's default): columns,
    /// blocks and paragraphs are found first. For pages with several columns, tables,
    /// captions.
    Auto,
    /// One uniform block of text (PSM 6, the Tesseract API's default): no layout
    /// analysis; paragraphs, letters, labels, receipts, photos of a page of one column.
    #[default]
    SingleBlock,
    /// One line of text (PSM 7).
    SingleLine,
    /// As much text as possible, in no particular order (PSM 11): signs, covers.
    SparseText,
}

impl PageSegmentation {
    /// Tesseract's number for the mode.
    pub fn psm(self) -> u8 {
        match self {
            Self::Auto => 3,
            Self::SingleBlock => 6,
            Self::SingleLine => 7,
            Self::SparseText => 11,
        }
    }

    /// The mode for Tesseract's number (3, 6, 7 or 11).
    pub fn from_psm(psm: u8) -> Option<Self> {
        match psm {
            3 => Some(Self::Auto),
            6 => Some(Self::SingleBlock),
            7 => Some(Self::SingleLine),
            11 => Some(Self::SparseText),
            _ => None,
        }
    }
}

/// The [`OcrEngine`] on Tesseract (through `leptess`).
///
/// - The image is decoded with the `image` crate under [`ImageLimits`] (JPEG, PNG,
///   GIF, WebP; the header is checked before anything is decoded), turned upright by
///   its EXIF orientation, flattened onto white when it has transparency, and made
///   grayscale; the paper is made plain white ([`TesseractEngine::with_flattening`]),
///   a page tilted by 1.7° or more is levelled ([`TesseractEngine::with_deskewing`]),
///   text smaller than 20 pixels is upscaled (Catmull-Rom) to about 32 pixels
///   ([`TesseractEngine::with_upscaling`]). The grayscale pixels are handed to
///   Tesseract as they are (no re-encoding); [`TesseractEngine::with_parameter`] sets
///   any of Tesseract's run-time parameters.
/// - Tesseract engines are pooled: a call takes an idle engine (or creates one) and
///   gives it back, so `N` concurrent callers use `N` warm engines and a single-threaded
///   caller reuses one. Loading an engine takes tens of milliseconds; reading a
///   line of text across a 1000-pixel image about 20-25 ms of CPU (Tesseract's LSTM,
///   per line: BENCHMARKS.md, "OCR").
/// - Run the process with `OMP_THREAD_LIMIT=1` in its environment: Tesseract's OpenMP
///   threads otherwise oversubscribe the caller's threads and each image takes several
///   times longer. It must be set before the library loads (setting it from inside the
///   program is too late); [`TesseractEngine::new`] logs a warning when it is missing.
///
/// ```no_run
/// use kcl_core::ports::OcrEngine;
/// use kcl_media::TesseractEngine;
///
/// let engine = TesseractEngine::new("eng").expect("tesseract-ocr-eng is installed");
/// let text = engine.recognize(&std::fs::read("page.png").unwrap()).unwrap();
/// println!("{} ({:.0}%)", text.text, text.confidence);
/// ```
pub struct TesseractEngine {
    language: String,
    version: String,
    segmentation: PageSegmentation,
    upscale: bool,
    shrink_above: Option<u32>,
    deskew: bool,
    flatten: bool,
    limits: ImageLimits,
    /// Tesseract parameters set on every engine ([`TesseractEngine::with_parameter`]).
    parameters: Vec<(CString, CString)>,
    /// Idle engines.
    pool: Mutex<Vec<TessApi>>,
}

impl fmt::Debug for TesseractEngine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TesseractEngine")
            .field("language", &self.language)
            .field("version", &self.version)
            .field("segmentation", &self.segmentation)
            .field("upscale", &self.upscale)
            .field("shrink_above", &self.shrink_above)
            .field("deskew", &self.deskew)
            .field("flatten", &self.flatten)
            .field("limits", &self.limits)
            .field("parameters", &self.parameters)
            .field("idle_engines", &self.idle_engines())
            .finish()
    }
}

/// The Debian package holding `language`'s data (`chi_sim` → `tesseract-ocr-chi-sim`).
fn package_of(language: &str) -> String {
    format!(
        "tesseract-ocr-{}",
        language.to_ascii_lowercase().replace('_', "-")
    )
}

impl TesseractEngine {
    /// An engine for `language`: a Tesseract language code such as `eng` (the usual
    /// choice), `por`, or several joined by `+` (`eng+por`). Loads one engine to check
    /// that the language data is installed.
    ///
    /// # Errors
    ///
    /// [`OcrError::Unavailable`] when the language data cannot be loaded (the message
    /// names the package to install, such as `tesseract-ocr-por`) or the code is
    /// malformed.
    pub fn new(language: &str) -> Result<Self, OcrError> {
        let valid = !language.is_empty()
            && language.split('+').all(|l| {
                !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            });
        if !valid {
            return Err(OcrError::Unavailable(format!(
                "{language:?} is not a Tesseract language code (such as `eng` or `eng+por`)"
            )));
        }
        if std::env::var("OMP_THREAD_LIMIT").as_deref() != Ok("1") {
            tracing::warn!(
                "OMP_THREAD_LIMIT is not 1: Tesseract's OpenMP threads will oversubscribe \
                 the worker's threads and make OCR several times slower; set \
                 OMP_THREAD_LIMIT=1 in the process environment before it starts \
                 (setting it from inside the program is too late)"
            );
        }
        let version = tesseract_plumbing::version().to_string_lossy().into_owned();
        let engine = Self {
            language: language.to_owned(),
            version,
            segmentation: PageSegmentation::default(),
            upscale: true,
            shrink_above: None,
            deskew: true,
            flatten: true,
            limits: ImageLimits::default(),
            parameters: Vec::new(),
            pool: Mutex::new(Vec::new()),
        };
        let first = engine.create()?;
        engine.give_back(first);
        Ok(engine)
    }

    /// The same engine with another page segmentation (default
    /// [`PageSegmentation::SingleBlock`]).
    pub fn with_page_segmentation(mut self, segmentation: PageSegmentation) -> Self {
        self.segmentation = segmentation;
        self
    }

    /// The same engine with (the default) or without the upscaling of small text (lines
    /// under 20 pixels high, measured along the page's skew, are enlarged to about 32
    /// before recognition). Upscaling reads small print better and costs time only on
    /// images that have it.
    pub fn with_upscaling(mut self, upscale: bool) -> Self {
        self.upscale = upscale;
        self
    }

    /// The same engine with one of Tesseract's run-time parameters set (the `-c
    /// NAME=VALUE` of the command line; `tesseract --print-parameters` lists them), on
    /// the engines already loaded and on every one loaded later. Parameters Tesseract
    /// reads only while it loads a language (`load_system_dawg` and the like) are
    /// accepted but change nothing.
    ///
    /// # Errors
    ///
    /// [`OcrError::Unavailable`] when Tesseract refuses the parameter (an unknown name)
    /// or the name or value holds a NUL byte.
    pub fn with_parameter(mut self, name: &str, value: &str) -> Result<Self, OcrError> {
        let refused = || {
            OcrError::Unavailable(format!(
                "Tesseract refuses the parameter {name}={value:?}: unknown name, or a NUL \
                 byte"
            ))
        };
        let name = CString::new(name).map_err(|_| refused())?;
        let value = CString::new(value).map_err(|_| refused())?;
        {
            let mut pool = self.pool.lock().unwrap_or_else(PoisonError::into_inner);
            for api in pool.iter_mut() {
                api.raw.set_variable(&name, &value).map_err(|_| refused())?;
            }
        }
        self.parameters.push((name, value));
        Ok(self)
    }

    /// The same engine shrinking images whose text lines are taller than `height`
    /// pixels (measured as for upscaling) to that height before recognition, or not
    /// (`None`, the default).
    pub fn with_shrinking(mut self, height: Option<u32>) -> Self {
        self.shrink_above = height;
        self
    }

    /// The same engine with (the default) or without the levelling of tilted pages:
    /// when the text lines' slope (measured as for upscaling, up to about ±5°) is
    /// 1.7° or more, the page is rotated so that they are level before recognition.
    /// Tesseract's own line finding, in one block, merges the lines of a page tilted
    /// by a few degrees whose lines are close together, and reads them as noise.
    pub fn with_deskewing(mut self, deskew: bool) -> Self {
        self.deskew = deskew;
        self
    }

    /// The same engine with (the default) or without the flattening of the page: the
    /// paper's brightness is measured in 64-pixel tiles, and every pixel divided by it
    /// so that the paper, its shading and its grain become plain white and the ink
    /// keeps its gray levels. Tesseract then separates ink from paper reliably (its
    /// global threshold splits a shaded, grainy page with little text into noise), and
    /// each line image it compresses internally is mostly white.
    pub fn with_flattening(mut self, flatten: bool) -> Self {
        self.flatten = flatten;
        self
    }

    /// The page segmentation in use.
    pub fn page_segmentation(&self) -> PageSegmentation {
        self.segmentation
    }

    /// The same engine with other limits on the images it decodes (default
    /// [`ImageLimits::default`]).
    pub fn with_limits(mut self, limits: ImageLimits) -> Self {
        self.limits = limits;
        self
    }

    /// The language code given to [`TesseractEngine::new`].
    pub fn language(&self) -> &str {
        &self.language
    }

    /// Tesseract's version (`5.3.0`).
    pub fn version(&self) -> &str {
        &self.version
    }

    /// Engines loaded and idle (at least one after [`TesseractEngine::new`]; as many as
    /// the most concurrent calls so far).
    pub fn idle_engines(&self) -> usize {
        self.pool
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Loads a new Tesseract engine.
    fn create(&self) -> Result<TessApi, OcrError> {
        let mut api = TessApi::new(None, &self.language).map_err(|_| {
            let packages: Vec<String> = self.language.split('+').map(package_of).collect();
            OcrError::Unavailable(format!(
                "Tesseract cannot load the language data for {:?}: install {} \
                 (or point TESSDATA_PREFIX at a folder holding {})",
                self.language,
                packages.join(" and "),
                self.language
                    .split('+')
                    .map(|l| format!("{l}.traineddata"))
                    .collect::<Vec<_>>()
                    .join(", "),
            ))
        })?;
        // Tesseract's progress and warnings ("Estimating resolution as ...") would go to
        // stderr for every image.
        set(&mut api, Variable::DebugFile, "/dev/null")?;
        for (name, value) in &self.parameters {
            api.raw
                .set_variable(name, value)
                .map_err(|e| OcrError::Internal(Box::new(e)))?;
        }
        Ok(api)
    }

    fn give_back(&self, api: TessApi) {
        self.pool
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(api);
    }

    fn take(&self) -> Result<TessApi, OcrError> {
        let idle = self
            .pool
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        match idle {
            Some(api) => Ok(api),
            None => self.create(),
        }
    }

    /// Runs Tesseract on 8-bit grayscale pixels.
    fn read(&self, api: &mut TessApi, gray: &GrayImage) -> Result<OcrText, OcrError> {
        let psm = self.segmentation.psm().to_string();
        set(api, Variable::TesseditPagesegMode, &psm)?;
        let (width, height) = gray.dimensions();
        let w = i32::try_from(width).map_err(|_| internal("image too wide"))?;
        let h = i32::try_from(height).map_err(|_| internal("image too tall"))?;
        api.raw
            .set_image(gray.as_raw(), w, h, 1, w)
            .map_err(|e| OcrError::Internal(Box::new(e)))?;
        api.raw
            .recognize()
            .map_err(|e| OcrError::Internal(Box::new(e)))?;
        let text = api
            .get_utf8_text()
            .map_err(|e| OcrError::Internal(Box::new(e)))?;
        let text = tidy(&text);
        let confidence = if text.is_empty() {
            0.0
        } else {
            api.mean_text_conf().clamp(0, 100) as f32
        };
        Ok(OcrText { text, confidence })
    }
}

fn set(api: &mut TessApi, name: Variable, value: &str) -> Result<(), OcrError> {
    let value = CString::new(value).map_err(|e| OcrError::Internal(Box::new(e)))?;
    api.raw
        .set_variable(name.as_cstr(), &value)
        .map_err(|e| OcrError::Internal(Box::new(e)))
}

fn internal(message: &str) -> OcrError {
    OcrError::Internal(message.to_owned().into())
}

/// Lines trimmed at their ends, at most one empty line in a row (between paragraphs),
/// none at the start or the end.
fn tidy(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank = false;
    for line in text.lines().map(str::trim_end) {
        if line.trim().is_empty() {
            blank = !out.is_empty();
            continue;
        }
        if !out.is_empty() {
            out.push('\n');
            if blank {
                out.push('\n');
            }
        }
        blank = false;
        out.push_str(line);
    }
    out
}

impl OcrEngine for TesseractEngine {
    fn recognize(&self, image: &[u8]) -> Result<OcrText, OcrError> {
        let gray = decode_gray(image, &self.limits)?;
        let gray = if self.flatten { flatten(gray) } else { gray };
        let lines = if self.upscale || self.shrink_above.is_some() || self.deskew {
            text_height(&gray)
        } else {
            None
        };
        let gray = match lines {
            Some(l) if self.deskew && l.skew.abs() >= DESKEW_FROM => {
                // White when flattened; otherwise the page's median.
                let fill = if self.flatten { 255 } else { median(&gray) };
                deskew(&gray, l.skew, fill)
            }
            _ => gray,
        };
        let gray = rescale_text(gray, lines, self.upscale, self.shrink_above)?;
        let mut api = self.take()?;
        let result = self.read(&mut api, &gray);
        self.give_back(api);
        result
    }

    fn describe(&self) -> String {
        format!(
            "tesseract {}, {}, psm {}",
            self.version,
            self.language,
            self.segmentation.psm()
        )
    }
}

/// Maps the thumbnailer's decoding errors onto OCR errors: anything about the input is
/// [`OcrError::Corrupt`].
fn from_image_error(err: ImageError) -> OcrError {
    match err {
        ImageError::Internal(e) => OcrError::Internal(e),
        other => OcrError::Corrupt(other.to_string()),
    }
}

/// Decodes `data` (after checking its header against `limits`), turns it upright and
/// makes it 8-bit grayscale, transparent parts white.
fn decode_gray(data: &[u8], limits: &ImageLimits) -> Result<GrayImage, OcrError> {
    let (format, header) = crate::check(data, limits).map_err(from_image_error)?;
    let (mut image, orientation) =
        crate::decode_full(format, &header, data).map_err(from_image_error)?;
    image.apply_orientation(orientation);
    Ok(if image.color().has_alpha() {
        let la = image.into_luma_alpha8();
        let (width, height) = la.dimensions();
        let flat = la
            .pixels()
            .map(|p| {
                let [l, a] = p.0;
                // l * a + 255 * (255 - a), over 255
                ((u32::from(l) * u32::from(a) + 255 * (255 - u32::from(a)) + 127) / 255) as u8
            })
            .collect();
        GrayImage::from_raw(width, height, flat).ok_or_else(|| internal("pixel buffer size"))?
    } else {
        image.into_luma8()
    })
}

/// The median of the pixels.
fn median(gray: &GrayImage) -> u8 {
    let mut hist = [0usize; 256];
    for &v in gray.as_raw() {
        hist[usize::from(v)] += 1;
    }
    let half = gray.as_raw().len() / 2;
    let mut seen = 0;
    hist.iter()
        .position(|&c| {
            seen += c;
            seen > half
        })
        .unwrap_or(255) as u8
}

/// Side of the tiles in which [`flatten`] measures the paper.
const TILE: u32 = 64;

/// Makes the paper white: each pixel is divided by the paper's level around it (the
/// median of each [`TILE`]-pixel tile, interpolated between tile centres) lowered by
/// four times the grain (the paper's spread, from the tiles' quartiles), so that
/// paper, shading and grain become 255 and darker marks keep their gray levels. A
/// page that is dark for the most part (light text on dark) is left as it is.
fn flatten(mut gray: GrayImage) -> GrayImage {
    let (width, height) = gray.dimensions();
    if width < TILE || height < TILE {
        return gray;
    }
    let (tx, ty) = (
        width.div_ceil(TILE) as usize,
        height.div_ceil(TILE) as usize,
    );
    let w = width as usize;
    let raw = gray.as_raw();
    let mut level = vec![0f32; tx * ty];
    let mut spreads = Vec::with_capacity(tx * ty);
    let mut hist = [0u32; 256];
    for j in 0..ty {
        for i in 0..tx {
            hist.fill(0);
            let (x0, y0) = (i * TILE as usize, j * TILE as usize);
            let (x1, y1) = (
                (x0 + TILE as usize).min(w),
                (y0 + TILE as usize).min(height as usize),
            );
            for row in raw[y0 * w..y1 * w].chunks_exact(w) {
                for &v in &row[x0..x1] {
                    hist[usize::from(v)] += 1;
                }
            }
            let n = ((x1 - x0) * (y1 - y0)) as u32;
            let quantile = |q: u32| {
                let mut seen = 0;
                hist.iter()
                    .position(|&c| {
                        seen += c;
                        seen * 4 > n * q
                    })
                    .unwrap_or(255) as f32
            };
            let (q1, q2, q3) = (quantile(1), quantile(2), quantile(3));
            level[j * tx + i] = q2;
            spreads.push(q3 - q1);
        }
    }
    // Light marks on a dark page (or a dark photo): there is no paper to whiten.
    let mut levels = level.clone();
    levels.sort_unstable_by(f32::total_cmp);
    if levels[levels.len() / 2] < 128.0 {
        return gray;
    }
    spreads.sort_unstable_by(f32::total_cmp);
    // The quartiles of Gaussian grain are 1.35 sigma apart; four sigma below the paper.
    let grain = spreads[spreads.len() / 2] / 1.35;
    let margin = (4.0 * grain).max(6.0);
    // Per tile, the factor that takes the paper's lowered level to 255.
    let scale: Vec<f32> = level
        .iter()
        .map(|&l| 255.0 / (l - margin).max(32.0))
        .collect();
    let half = TILE as f32 / 2.0;
    // Horizontal interpolation weights are the same for every row.
    let columns: Vec<(usize, usize, f32)> = (0..w)
        .map(|x| {
            let fx = ((x as f32 - half) / TILE as f32).clamp(0.0, (tx - 1) as f32);
            let i0 = fx as usize;
            (i0, (i0 + 1).min(tx - 1), fx - i0 as f32)
        })
        .collect();
    let mut row_scale = vec![0f32; w];
    for (y, row) in gray.chunks_exact_mut(w).enumerate() {
        let fy = ((y as f32 - half) / TILE as f32).clamp(0.0, (ty - 1) as f32);
        let j0 = fy as usize;
        let j1 = (j0 + 1).min(ty - 1);
        let ay = fy - j0 as f32;
        for (s, &(i0, i1, ax)) in row_scale.iter_mut().zip(&columns) {
            let top = scale[j0 * tx + i0] * (1.0 - ax) + scale[j0 * tx + i1] * ax;
            let bottom = scale[j1 * tx + i0] * (1.0 - ax) + scale[j1 * tx + i1] * ax;
            *s = top * (1.0 - ay) + bottom * ay;
        }
        for (v, &s) in row.iter_mut().zip(&row_scale) {
            *v = (f32::from(*v) * s).min(255.0) as u8;
        }
    }
    gray
}

/// The largest skew tried by [`text_height`], in thousandths of the width (tan θ):
/// about 5.1°.
const MAX_SKEW: i32 = 90;
/// Skew angles tried by [`text_height`]: up to ±[`MAX_SKEW`] in steps of about 0.3°.
const SKEWS: std::ops::RangeInclusive<i32> = -MAX_SKEW..=MAX_SKEW;
const SKEW_STEP: usize = 5;

/// The median height of the text lines: the ink (pixels noticeably darker than the
/// page) is projected onto the vertical axis along the skew that separates the lines
/// best (photos of pages are seldom level, and a level projection of a tilted page
/// merges its lines), and the runs of inked rows are measured. `None` when there is
/// no clear text.
///
/// Also returns the skew found (level when no line stands out).
fn text_height(gray: &GrayImage) -> Option<TextLines> {
    let (width, height) = gray.dimensions();
    if width == 0 || height == 0 {
        return None;
    }
    let raw = gray.as_raw();
    let total: u64 = raw.iter().map(|&v| u64::from(v)).sum();
    let mean = (total / raw.len() as u64) as i32;
    let threshold = mean - 60;
    if threshold <= 0 {
        return None;
    }
    // Ink pixels, sampled every `stride` columns (every other one up to 4 MP): enough
    // for the profile, and bounded work and memory on large photos.
    let stride = 2 * (u64::from(width) * u64::from(height) / 4_000_000).max(1) as usize;
    let ink: Vec<(i64, i64)> = raw
        .chunks_exact(width as usize)
        .enumerate()
        .flat_map(|(y, row)| {
            row.iter()
                .enumerate()
                .step_by(stride)
                .filter(move |(_, &v)| i32::from(v) < threshold)
                .map(move |(x, _)| (x as i64, y as i64))
        })
        .collect();
    if ink.is_empty() {
        return None;
    }
    // The skew whose profile is the most contrasted (sum of squares: lines and gaps
    // apart, rather than smeared together).
    let w = i64::from(width);
    let margin = w * i64::from(MAX_SKEW) / 1000;
    let rows = height as usize + margin as usize * 2 + 2;
    let offset = margin + 1;
    let profile = |skew: i64| {
        let mut p = vec![0u32; rows];
        for &(x, y) in &ink {
            let shifted = y - (x - w / 2) * skew / 1000 + offset;
            if let Some(c) = usize::try_from(shifted).ok().and_then(|i| p.get_mut(i)) {
                *c += 1;
            }
        }
        p
    };
    let score = |p: &[u32]| p.iter().map(|&c| u64::from(c) * u64::from(c)).sum::<u64>();
    let (_, _, skew, best) = SKEWS
        .step_by(SKEW_STEP)
        .map(|k| {
            let p = profile(i64::from(k));
            (score(&p), std::cmp::Reverse(k.abs()), k, p)
        })
        .max_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)))?;
    // A row of text holds ink over a good part of the width; stray marks do not.
    let min_ink = (width / stride as u32 / 500).max(2);
    let mut runs = Vec::new();
    let mut run = 0u32;
    for &c in &best {
        if c >= min_ink {
            run += 1;
        } else {
            if run >= 3 {
                runs.push(run);
            }
            run = 0;
        }
    }
    if run >= 3 {
        runs.push(run);
    }
    if runs.is_empty() {
        return None;
    }
    runs.sort_unstable();
    Some(TextLines {
        height: runs[runs.len() / 2],
        skew,
    })
}

/// What [`text_height`] measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct TextLines {
    /// The median height of the lines, in pixels.
    height: u32,
    /// Their slope in thousandths (tan θ; positive: going down to the right).
    skew: i32,
}

/// Skews from which [`deskew`] levels the page, in thousandths (about 1.7°): below it
/// Tesseract's own line finding copes.
const DESKEW_FROM: i32 = 30;

/// Rotates the page so that lines of slope `skew` (thousandths) become level, by
/// bilinear interpolation; what comes in at the corners is `fill`.
fn deskew(gray: &GrayImage, skew: i32, fill: u8) -> GrayImage {
    let (width, height) = gray.dimensions();
    let theta = (f64::from(skew) / 1000.0).atan();
    let (sin, cos) = (theta.sin() as f32, theta.cos() as f32);
    let (cx, cy) = (width as f32 / 2.0, height as f32 / 2.0);
    let (w, h) = (width as usize, height as usize);
    let raw = gray.as_raw();
    let at = |x: isize, y: isize| -> f32 {
        if x < 0 || y < 0 || x as usize >= w || y as usize >= h {
            f32::from(fill)
        } else {
            f32::from(raw[y as usize * w + x as usize])
        }
    };
    let mut out = Vec::with_capacity(w * h);
    for y in 0..h {
        let dy = y as f32 - cy;
        // Source of the row's first pixel; each step right moves it by (cos, sin).
        let (mut sx, mut sy) = (cx - cx * cos - dy * sin, cy - cx * sin + dy * cos);
        for _ in 0..w {
            let (fx, fy) = (sx.floor(), sy.floor());
            let (ax, ay) = (sx - fx, sy - fy);
            let (x0, y0) = (fx as isize, fy as isize);
            let value = if x0 >= 0 && y0 >= 0 && (x0 as usize) + 1 < w && (y0 as usize) + 1 < h {
                let i = y0 as usize * w + x0 as usize;
                let (a, b) = (f32::from(raw[i]), f32::from(raw[i + 1]));
                let (c, d) = (f32::from(raw[i + w]), f32::from(raw[i + w + 1]));
                (a + (b - a) * ax) * (1.0 - ay) + (c + (d - c) * ax) * ay
            } else {
                let top = at(x0, y0) * (1.0 - ax) + at(x0 + 1, y0) * ax;
                let bottom = at(x0, y0 + 1) * (1.0 - ax) + at(x0 + 1, y0 + 1) * ax;
                top * (1.0 - ay) + bottom * ay
            };
            out.push((value + 0.5).clamp(0.0, 255.0) as u8);
            sx += cos;
            sy += sin;
        }
    }
    GrayImage::from_raw(width, height, out).unwrap_or_else(|| gray.clone())
}

/// Upscales the image when its text is small (see [`MIN_TEXT_HEIGHT`]) and `upscale`
/// is on; shrinks it when its text is taller than `shrink_above`, to that height.
fn rescale_text(
    gray: GrayImage,
    lines: Option<TextLines>,
    upscale: bool,
    shrink_above: Option<u32>,
) -> Result<GrayImage, OcrError> {
    let Some(TextLines { height: text, .. }) = lines else {
        return Ok(gray);
    };
    let factor = if upscale && text < MIN_TEXT_HEIGHT {
        // Just enough to bring the text to the target height (not a whole factor: the
        // time Tesseract takes grows with the pixels).
        (f64::from(TARGET_TEXT_HEIGHT) / f64::from(text.max(1))).clamp(1.25, f64::from(MAX_UPSCALE))
    } else {
        match shrink_above {
            Some(max) if text > max.max(MIN_TEXT_HEIGHT) => f64::from(max) / f64::from(text),
            _ => return Ok(gray),
        }
    };
    let (width, height) = gray.dimensions();
    let tw = (f64::from(width) * factor).round();
    let th = (f64::from(height) * factor).round();
    if tw * th > 100_000_000.0 {
        return Ok(gray);
    }
    let (tw, th) = (tw as u32, th as u32);
    let src = FirImage::from_vec_u8(width, height, gray.into_raw(), PixelType::U8)
        .map_err(|e| internal(&format!("upscale source: {e}")))?;
    let mut dst = FirImage::new(tw, th, PixelType::U8);
    let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::CatmullRom));
    Resizer::new()
        .resize(&src, &mut dst, &options)
        .map_err(|e| internal(&format!("upscale: {e}")))?;
    GrayImage::from_raw(tw, th, dst.into_vec()).ok_or_else(|| internal("pixel buffer size"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tidy_text() {
        assert_eq!(
            tidy("  \n\nHello  \nworld\n\n\n\nagain \n\x0c"),
            "Hello\nworld\n\nagain"
        );
        assert_eq!(tidy("\n \n"), "");
    }

    #[test]
    fn packages() {
        assert_eq!(package_of("eng"), "tesseract-ocr-eng");
        assert_eq!(package_of("chi_sim"), "tesseract-ocr-chi-sim");
    }

    #[test]
    fn text_height_of_stripes() {
        let mut gray = GrayImage::from_pixel(200, 100, image::Luma([255]));
        for y in (10..22).chain(50..62) {
            for x in 10..190 {
                gray.put_pixel(x, y, image::Luma([0]));
            }
        }
        assert_eq!(
            text_height(&gray),
            Some(TextLines {
                height: 12,
                skew: 0
            })
        );
        assert_eq!(
            text_height(&GrayImage::from_pixel(50, 50, image::Luma([255]))),
            None
        );
    }

    #[test]
    fn flattening_whitens_shaded_paper_and_keeps_ink() {
        // Paper from 220 down to 180 left to right, a grain of ±6, a dark bar.
        let mut gray = GrayImage::from_fn(640, 200, |x, y| {
            let grain = ((x * 7 + y * 13) % 13) as i32 - 6;
            image::Luma([(220 - (x * 40 / 640) as i32 + grain) as u8])
        });
        for y in 90..110 {
            for x in 100..540 {
                gray.put_pixel(x, y, image::Luma([60]));
            }
        }
        let flat = flatten(gray);
        let paper: Vec<u8> = flat
            .enumerate_pixels()
            .filter(|(_, y, _)| !(80..120).contains(y))
            .map(|(_, _, p)| p.0[0])
            .collect();
        let white = paper.iter().filter(|&&v| v == 255).count();
        assert!(
            white * 100 >= paper.len() * 99,
            "{white} of {}",
            paper.len()
        );
        let ink = flat.get_pixel(320, 100).0[0];
        assert!(ink < 100, "{ink}");
        // Light text on a dark page: unchanged.
        let dark = GrayImage::from_fn(640, 200, |x, _| image::Luma([30 + (x % 7) as u8]));
        assert_eq!(flatten(dark.clone()), dark);
        // Too small to measure: unchanged.
        let small = GrayImage::from_pixel(10, 10, image::Luma([100]));
        assert_eq!(flatten(small.clone()), small);
    }

    #[test]
    fn text_height_of_tilted_stripes() {
        // Three 12-pixel lines, 10 pixels apart, tilted by 2 degrees over 1000 pixels:
        // a level projection would merge them into one band ~70 pixels high.
        let mut gray = GrayImage::from_pixel(1000, 200, image::Luma([255]));
        let tan = 2f64.to_radians().tan();
        for top in [40.0, 62.0, 84.0] {
            for x in 20..980u32 {
                let y0 = top + f64::from(x) * tan;
                for dy in 0..12 {
                    gray.put_pixel(x, (y0 as u32) + dy, image::Luma([0]));
                }
            }
        }
        let lines = text_height(&gray).expect("text");
        assert!((12..=14).contains(&lines.height), "{lines:?}");
        // tan 2° = 0.035
        assert!((30..=40).contains(&lines.skew), "{lines:?}");
        // Levelled, the lines are level.
        let level = deskew(&gray, lines.skew, 255);
        let again = text_height(&level).expect("text");
        assert!(again.skew.abs() <= 5, "{again:?}");
        assert!((12..=14).contains(&again.height), "{again:?}");
    }
}
