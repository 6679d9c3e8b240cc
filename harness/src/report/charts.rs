//! Charts as SVG strings, drawn with `plotters`' SVG backend.
//!
//! Text is written as SVG `<text>` elements (the browser lays it out), so no
//! font files are needed. Each chart is a plot with labelled axes above a
//! legend that never covers data; series keep one colour and marker shape
//! across every chart of a report (see [`Palette`]).

use std::collections::BTreeMap;

use anyhow::anyhow;
use plotters::coord::combinators::{LogCoord, WithKeyPoints};
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// Width of every chart, pixels (two fit side by side at 1280 px).
pub const WIDTH: u32 = 600;
/// Height of the plot part of a chart, pixels (the legend is added below).
pub const PLOT_HEIGHT: u32 = 380;
const LEGEND_ROW: u32 = 20;
const LEGEND_COLUMNS: usize = 2;
const FONT: &str = "sans-serif";
/// plotters writes a requested font size as `size / 1.24` px; these ask for
/// what reads well at 1280 px: ~16 px captions, ~13–14 px labels.
const CAPTION_SIZE: f64 = 20.0;
const TICK_SIZE: f64 = 16.0;
const AXIS_SIZE: f64 = 17.0;
const LEGEND_SIZE: f64 = 17.0;

/// Eight colours that stay apart for common colour-vision deficiencies
/// (Okabe–Ito, with its yellow darkened to read on white).
pub const PALETTE: [RGBColor; 8] = [
    RGBColor(0x00, 0x72, 0xB2), // blue
    RGBColor(0xD5, 0x5E, 0x00), // vermillion
    RGBColor(0x00, 0x9E, 0x73), // bluish green
    RGBColor(0xCC, 0x79, 0xA7), // reddish purple
    RGBColor(0xE6, 0x9F, 0x00), // orange
    RGBColor(0x56, 0xB4, 0xE9), // sky blue
    RGBColor(0x33, 0x33, 0x33), // near black
    RGBColor(0x9A, 0x7B, 0x00), // dark yellow
];

/// A marker shape; shapes cycle beside colours as a second cue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Marker {
    /// Filled or hollow circle.
    Circle,
    /// Triangle.
    Triangle,
    /// Square.
    Square,
    /// Diagonal cross.
    Cross,
}

const MARKERS: [Marker; 4] = [
    Marker::Circle,
    Marker::Triangle,
    Marker::Square,
    Marker::Cross,
];

/// Fixed colour and marker per series label, in label order.
#[derive(Debug, Clone, Default)]
pub struct Palette {
    slots: BTreeMap<String, usize>,
}

impl Palette {
    /// Assigns slots to `labels` in sorted order.
    pub fn new<I: IntoIterator<Item = String>>(labels: I) -> Palette {
        let mut v: Vec<String> = labels.into_iter().collect();
        v.sort();
        v.dedup();
        Palette {
            slots: v.into_iter().enumerate().map(|(i, l)| (l, i)).collect(),
        }
    }

    /// The slot of `label` (labels it was not given share slot 0).
    pub fn slot(&self, label: &str) -> usize {
        self.slots.get(label).copied().unwrap_or(0)
    }

    /// The colour of `label`.
    pub fn colour(&self, label: &str) -> RGBColor {
        PALETTE[self.slot(label) % PALETTE.len()]
    }

    /// The marker of `label`.
    pub fn marker(&self, label: &str) -> Marker {
        MARKERS[self.slot(label) % MARKERS.len()]
    }
}

/// How an axis maps values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    /// Linear.
    Linear,
    /// Base-10 logarithmic (non-positive values are left out).
    Log,
}

/// One named series: markers at its points, and a line through `line`.
#[derive(Debug, Clone)]
pub struct Series {
    /// Legend name.
    pub name: String,
    /// Colour.
    pub colour: RGBColor,
    /// Marker shape.
    pub marker: Marker,
    /// Points drawn as markers.
    pub points: Vec<(f64, f64)>,
    /// Polyline (a Pareto frontier, a curve over scales); empty for none.
    pub line: Vec<(f64, f64)>,
    /// Dashed line and hollow markers (the "old" side of a comparison).
    pub dashed: bool,
}

/// A chart to draw.
#[derive(Debug, Clone)]
pub struct Chart {
    /// Caption.
    pub title: String,
    /// X-axis description, with units.
    pub x_label: String,
    /// Y-axis description, with units.
    pub y_label: String,
    /// X mapping.
    pub x_scale: Scale,
    /// Y mapping.
    pub y_scale: Scale,
    /// Fixed x range, when the data's own range is not wanted.
    pub x_range: Option<(f64, f64)>,
    /// Fixed y range.
    pub y_range: Option<(f64, f64)>,
    /// The series, in legend order.
    pub series: Vec<Series>,
}

/// Compact number for axis ticks and tables: `1.2M`, `35k`, `980`, `0.95`.
pub fn fmt_num(v: f64) -> String {
    let a = v.abs();
    if !v.is_finite() {
        "–".to_string()
    } else if a >= 1e9 {
        format!("{:.3}G", v / 1e9)
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string()
    } else if a >= 1e6 {
        trim(format!("{:.2}", v / 1e6)) + "M"
    } else if a >= 1e4 {
        trim(format!("{:.1}", v / 1e3)) + "k"
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 1.0 {
        trim(format!("{v:.2}"))
    } else if a == 0.0 {
        "0".to_string()
    } else {
        trim(format!("{v:.3}"))
    }
}

fn trim(s: String) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// Range covering `vals` with a margin; `None` when there are none.
fn auto_range(vals: impl Iterator<Item = f64>, scale: Scale) -> Option<(f64, f64)> {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in vals {
        if v.is_finite() && (scale == Scale::Linear || v > 0.0) {
            lo = lo.min(v);
            hi = hi.max(v);
        }
    }
    if lo > hi {
        return None;
    }
    Some(match scale {
        Scale::Log => {
            let (lo, hi) = if hi / lo < 1.5 {
                (lo / 1.5, hi * 1.5)
            } else {
                (lo, hi)
            };
            (lo / 1.25, hi * 1.25)
        }
        Scale::Linear => {
            let span = if hi - lo > 0.0 {
                hi - lo
            } else {
                lo.abs().max(1.0) * 0.1
            };
            (lo - span * 0.06, hi + span * 0.06)
        }
    })
}

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

fn err<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow!("drawing a chart: {e:?}")
}

/// Draws `chart` and returns its SVG document.
pub fn render(chart: &Chart) -> anyhow::Result<String> {
    let legend_rows = chart.series.len().div_ceil(legend_columns(chart)) as u32;
    let height = PLOT_HEIGHT + legend_rows * LEGEND_ROW + 12;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let (plot, legend) = root.split_vertically(PLOT_HEIGHT);
        let in_scale = |v: f64, s: Scale| v.is_finite() && (s == Scale::Linear || v > 0.0);
        let usable = |p: &(f64, f64)| in_scale(p.0, chart.x_scale) && in_scale(p.1, chart.y_scale);
        let all: Vec<(f64, f64)> = chart
            .series
            .iter()
            .flat_map(|s| s.points.iter().chain(s.line.iter()))
            .copied()
            .filter(usable)
            .collect();
        let xr = chart
            .x_range
            .or_else(|| auto_range(all.iter().map(|p| p.0), chart.x_scale));
        let yr = chart
            .y_range
            .or_else(|| auto_range(all.iter().map(|p| p.1), chart.y_scale));
        match (xr, yr) {
            (Some(x), Some(y)) if !all.is_empty() => {
                let (x, y) = (x.0..x.1, y.0..y.1);
                match (chart.x_scale, chart.y_scale) {
                    (Scale::Linear, Scale::Linear) => draw(&plot, chart, x, y)?,
                    (Scale::Linear, Scale::Log) => draw(&plot, chart, x, log_axis(y.start, y.end))?,
                    (Scale::Log, Scale::Linear) => draw(&plot, chart, log_axis(x.start, x.end), y)?,
                    (Scale::Log, Scale::Log) => draw(
                        &plot,
                        chart,
                        log_axis(x.start, x.end),
                        log_axis(y.start, y.end),
                    )?,
                }
            }
            _ => no_data(&plot, chart)?,
        }
        draw_legend(&legend, chart)?;
        root.present().map_err(err)?;
    }
    Ok(svg)
}

fn no_data(area: &Area<'_>, chart: &Chart) -> anyhow::Result<()> {
    let style = (FONT, CAPTION_SIZE).into_font().color(&BLACK);
    area.draw(&Text::new(chart.title.clone(), (20, 20), style))
        .map_err(err)?;
    let centre = Pos::new(HPos::Center, VPos::Center);
    let note = (FONT, AXIS_SIZE)
        .into_font()
        .color(&RGBColor(0x66, 0x66, 0x66))
        .pos(centre);
    area.draw(&Text::new(
        "no runs measured this",
        (WIDTH as i32 / 2, PLOT_HEIGHT as i32 / 2),
        note,
    ))
    .map_err(err)
}

/// Tick values of a log axis over `lo..hi`: the labelled ones (mantissas
/// that keep labels apart: 1; 1-2-5; 1-2-3-5; every one, as the span
/// narrows) and the rest of 1..9 × 10^k, drawn as grid lines only.
pub fn log_ticks(lo: f64, hi: f64) -> (Vec<f64>, Vec<f64>) {
    let (mut bold, mut light) = (Vec::new(), Vec::new());
    if !(lo > 0.0 && hi > lo && hi.is_finite()) {
        return (bold, light);
    }
    let d = (hi / lo).log10();
    let keep: &[u32] = if d > 3.5 {
        &[1]
    } else if d > 1.8 {
        &[1, 2, 5]
    } else if d > 0.8 {
        &[1, 2, 3, 5]
    } else {
        &[1, 2, 3, 4, 5, 6, 7, 8, 9]
    };
    for e in (lo.log10().floor() as i32)..=(hi.log10().ceil() as i32) {
        for m in 1..=9u32 {
            let v = f64::from(m) * 10f64.powi(e);
            if v >= lo && v <= hi {
                if keep.contains(&m) {
                    bold.push(v);
                } else {
                    light.push(v);
                }
            }
        }
    }
    if bold.len() < 2 {
        bold.append(&mut light);
        bold.sort_by(f64::total_cmp);
    }
    (bold, light)
}

fn log_axis(lo: f64, hi: f64) -> WithKeyPoints<LogCoord<f64>> {
    let (bold, light) = log_ticks(lo, hi);
    (lo..hi)
        .log_scale()
        .with_key_points(bold)
        .with_light_points(light)
}

fn draw<X, Y>(area: &Area<'_>, chart: &Chart, x: X, y: Y) -> anyhow::Result<()>
where
    X: AsRangedCoord<Value = f64>,
    Y: AsRangedCoord<Value = f64>,
    X::CoordDescType: ValueFormatter<f64>,
    Y::CoordDescType: ValueFormatter<f64>,
{
    let mut ctx = ChartBuilder::on(area)
        .caption(&chart.title, (FONT, CAPTION_SIZE))
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(64)
        .build_cartesian_2d(x, y)
        .map_err(err)?;
    let fmt = |v: &f64| fmt_num(*v);
    let log_x = chart.x_scale == Scale::Log;
    let log_y = chart.y_scale == Scale::Log;
    ctx.configure_mesh()
        .x_desc(&chart.x_label)
        .y_desc(&chart.y_label)
        .x_labels(if log_x { 100 } else { 8 })
        .y_labels(if log_y { 100 } else { 8 })
        .x_max_light_lines(if log_x { 100 } else { 4 })
        .y_max_light_lines(if log_y { 100 } else { 4 })
        .x_label_formatter(&fmt)
        .y_label_formatter(&fmt)
        .label_style((FONT, TICK_SIZE))
        .axis_desc_style((FONT, AXIS_SIZE))
        .bold_line_style(RGBColor(0xDD, 0xDD, 0xDD))
        .light_line_style(RGBColor(0xF0, 0xF0, 0xF0))
        .draw()
        .map_err(err)?;
    let usable = |p: &&(f64, f64)| {
        let ok = |v: f64, s: Scale| v.is_finite() && (s == Scale::Linear || v > 0.0);
        ok(p.0, chart.x_scale) && ok(p.1, chart.y_scale)
    };
    for s in &chart.series {
        let line: Vec<(f64, f64)> = s.line.iter().filter(usable).copied().collect();
        let stroke = s.colour.stroke_width(2);
        if line.len() > 1 {
            if s.dashed {
                ctx.draw_series(DashedLineSeries::new(line, 7, 5, stroke))
                    .map_err(err)?;
            } else {
                ctx.draw_series(LineSeries::new(line, stroke))
                    .map_err(err)?;
            }
        }
        let pts: Vec<(f64, f64)> = s.points.iter().filter(usable).copied().collect();
        let style = if s.dashed {
            s.colour.stroke_width(2)
        } else {
            s.colour.filled()
        };
        match s.marker {
            Marker::Circle => ctx
                .draw_series(pts.iter().map(|&p| Circle::new(p, 4, style)))
                .map(|_| ()),
            Marker::Triangle => ctx
                .draw_series(pts.iter().map(|&p| TriangleMarker::new(p, 5, style)))
                .map(|_| ()),
            Marker::Square => ctx
                .draw_series(
                    pts.iter()
                        .map(|&p| EmptyElement::at(p) + Rectangle::new([(-4, -4), (4, 4)], style)),
                )
                .map(|_| ()),
            Marker::Cross => ctx
                .draw_series(
                    pts.iter()
                        .map(|&p| Cross::new(p, 4, s.colour.stroke_width(2))),
                )
                .map(|_| ()),
        }
        .map_err(err)?;
    }
    Ok(())
}

/// Legend columns: two, or one when a name would run into the next column
/// (about 7.5 px a character at the legend's size).
fn legend_columns(chart: &Chart) -> usize {
    let col_w = (WIDTH as usize - 80) / LEGEND_COLUMNS;
    let longest = chart
        .series
        .iter()
        .map(|s| s.name.chars().count())
        .max()
        .unwrap_or(0);
    if 40 + longest * 15 / 2 > col_w {
        1
    } else {
        LEGEND_COLUMNS
    }
}

fn draw_legend(area: &Area<'_>, chart: &Chart) -> anyhow::Result<()> {
    let cols = legend_columns(chart);
    let col_w = (WIDTH as i32 - 80) / cols as i32;
    for (i, s) in chart.series.iter().enumerate() {
        let x = 76 + (i % cols) as i32 * col_w;
        let y = 6 + (i / cols) as i32 * LEGEND_ROW as i32 + LEGEND_ROW as i32 / 2;
        let stroke = s.colour.stroke_width(2);
        if s.dashed {
            for seg in [(x, x + 8), (x + 13, x + 21), (x + 26, x + 30)] {
                area.draw(&PathElement::new(vec![(seg.0, y), (seg.1, y)], stroke))
                    .map_err(err)?;
            }
        } else {
            area.draw(&PathElement::new(vec![(x, y), (x + 30, y)], stroke))
                .map_err(err)?;
        }
        let style = if s.dashed {
            s.colour.stroke_width(2)
        } else {
            s.colour.filled()
        };
        let c = (x + 15, y);
        match s.marker {
            Marker::Circle => area.draw(&Circle::new(c, 4, style)),
            Marker::Triangle => area.draw(&TriangleMarker::new(c, 5, style)),
            Marker::Square => area.draw(&Rectangle::new(
                [(c.0 - 4, c.1 - 4), (c.0 + 4, c.1 + 4)],
                style,
            )),
            Marker::Cross => area.draw(&Cross::new(c, 4, s.colour.stroke_width(2))),
        }
        .map_err(err)?;
        let text = (FONT, LEGEND_SIZE)
            .into_font()
            .color(&BLACK)
            .pos(Pos::new(HPos::Left, VPos::Center));
        area.draw(&Text::new(s.name.clone(), (x + 38, y), text))
            .map_err(err)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_ticks_thin_out_with_span() {
        let (bold, light) = log_ticks(500.0, 300_000.0);
        assert_eq!(bold, vec![500.0, 1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 2e5]);
        assert!(light.contains(&3e3) && !light.contains(&1e4));
        let (bold, _) = log_ticks(0.5, 2_000_000.0);
        assert_eq!(bold, vec![1.0, 10.0, 100.0, 1e3, 1e4, 1e5, 1e6]);
        // A narrow span still gets at least two labels.
        let (bold, _) = log_ticks(600.0, 1500.0);
        assert!(bold.len() >= 2, "{bold:?}");
    }

    #[test]
    fn numbers_are_compact() {
        assert_eq!(fmt_num(1_234_567.0), "1.23M");
        assert_eq!(fmt_num(35_000.0), "35k");
        assert_eq!(fmt_num(980.4), "980");
        assert_eq!(fmt_num(0.95), "0.95");
        assert_eq!(fmt_num(12.5), "12.5");
    }

    #[test]
    fn renders_text_legend_and_empty_charts() {
        let chart = Chart {
            title: "t <&>".into(),
            x_label: "recall@10".into(),
            y_label: "QPS (1/s)".into(),
            x_scale: Scale::Linear,
            y_scale: Scale::Log,
            x_range: None,
            y_range: None,
            series: vec![Series {
                name: "alg-a".into(),
                colour: PALETTE[0],
                marker: Marker::Square,
                points: vec![(0.5, 1000.0), (0.9, 100.0), (0.95, -1.0)],
                line: vec![(0.5, 1000.0), (0.9, 100.0)],
                dashed: true,
            }],
        };
        let svg = render(&chart).unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..50]);
        assert!(svg.contains(">\nalg-a\n</text>"), "{svg}");
        assert!(svg.contains("recall@10"));
        assert!(svg.contains("t &lt;&amp;&gt;"));
        let empty = render(&Chart {
            series: vec![],
            ..chart
        })
        .unwrap();
        assert!(empty.contains("no runs measured this"));
    }
}
