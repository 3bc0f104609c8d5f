//! What a video is, read from `ffprobe`'s JSON, and whether browsers play it as it is:
//! H.264 video (8-bit 4:2:0) with AAC audio or none, in an MP4 (not QuickTime) whose
//! index (`moov`) comes before its data (`mdat`), so playback starts before the whole
//! file has arrived, and no larger than the rendition bound.

use serde_json::Value;

/// A probed video.
#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    /// Seconds.
    pub duration: Option<f64>,
    /// As displayed (a rotated phone video's sides swapped).
    pub width: u32,
    pub height: u32,
    pub video_codec: String,
    pub pix_fmt: Option<String>,
    pub audio_codec: Option<String>,
    /// `format_name` as ffprobe says it (`mov,mp4,m4a,3gp,3g2,mj2`, `matroska,webm`…).
    pub format: String,
    /// The MP4 major brand (`isom`, `mp42`; `qt  ` for QuickTime).
    pub brand: Option<String>,
    /// The video stream's bits per second, when the container says.
    pub video_bit_rate: Option<u64>,
    /// Frames per second (the average, else the stream's base rate), when known.
    pub frame_rate: Option<f64>,
}

/// `30000/1001` as a number; `None` for `0/0` and garbage.
fn ratio(text: &str) -> Option<f64> {
    let (num, den) = text.split_once('/')?;
    let (num, den) = (num.parse::<f64>().ok()?, den.parse::<f64>().ok()?);
    let rate = num / den;
    (rate.is_finite() && rate > 0.0).then_some(rate)
}

/// Reads `ffprobe -show_format -show_streams -print_format json`; `Err` says what is
/// missing (no video stream: not a video).
pub fn parse_probe(json: &str) -> Result<Probe, String> {
    let root: Value = serde_json::from_str(json).map_err(|_| "unreadable probe".to_owned())?;
    let streams = root["streams"].as_array().cloned().unwrap_or_default();
    let video = streams
        .iter()
        .find(|s| s["codec_type"] == "video" && s["disposition"]["attached_pic"] != 1)
        .ok_or_else(|| "the file has no video stream".to_owned())?;
    let audio = streams.iter().find(|s| s["codec_type"] == "audio");
    let dim = |v: &Value| v.as_u64().and_then(|n| u32::try_from(n).ok()).unwrap_or(0);
    let (mut width, mut height) = (dim(&video["width"]), dim(&video["height"]));
    if width == 0 || height == 0 {
        return Err("the video stream has no size".into());
    }
    if rotation(video).rem_euclid(180) == 90 {
        std::mem::swap(&mut width, &mut height);
    }
    let duration = root["format"]["duration"]
        .as_str()
        .or_else(|| video["duration"].as_str())
        .and_then(|d| d.parse::<f64>().ok())
        .filter(|d| d.is_finite() && *d >= 0.0);
    Ok(Probe {
        duration,
        width,
        height,
        video_codec: video["codec_name"].as_str().unwrap_or("unknown").to_owned(),
        pix_fmt: video["pix_fmt"].as_str().map(str::to_owned),
        audio_codec: audio
            .and_then(|a| a["codec_name"].as_str())
            .map(str::to_owned),
        format: root["format"]["format_name"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        brand: root["format"]["tags"]["major_brand"]
            .as_str()
            .map(str::to_owned),
        video_bit_rate: video["bit_rate"].as_str().and_then(|b| b.parse().ok()),
        frame_rate: video["avg_frame_rate"]
            .as_str()
            .and_then(ratio)
            .or_else(|| video["r_frame_rate"].as_str().and_then(ratio)),
    })
}

/// The rotation a player applies, in degrees: the display matrix's, or the old `rotate`
/// tag's.
fn rotation(stream: &Value) -> i64 {
    let from_side_data = stream["side_data_list"]
        .as_array()
        .and_then(|list| list.iter().find_map(|d| d["rotation"].as_i64()));
    let from_tag = stream["tags"]["rotate"]
        .as_str()
        .and_then(|r| r.parse().ok());
    from_side_data.or(from_tag).unwrap_or(0)
}

/// What a probed video may be at most before it is processed.
#[derive(Debug, Clone, Copy)]
pub struct Caps {
    pub duration_secs: u64,
    pub edge: u32,
    pub fps: u32,
}

impl Probe {
    /// Why the video is beyond `caps`, in words for its owner; `None` when within them.
    /// An unknown duration counts as within (the run's time limit still bounds it).
    pub fn beyond(&self, caps: Caps) -> Option<String> {
        if let Some(d) = self.duration.filter(|d| *d > caps.duration_secs as f64) {
            return Some(format!(
                "the video is {d:.0} s long; at most {} s are accepted",
                caps.duration_secs
            ));
        }
        if self.width.max(self.height) > caps.edge {
            return Some(format!(
                "the video is {}×{}; at most {} pixels a side are accepted",
                self.width, self.height, caps.edge
            ));
        }
        if let Some(fps) = self.frame_rate.filter(|f| *f > f64::from(caps.fps) + 0.5) {
            return Some(format!(
                "the video has {fps:.0} frames per second; at most {} are accepted",
                caps.fps
            ));
        }
        None
    }

    /// Whether browsers play the file as it is (given its index is at the front) and it is
    /// within `max_edge` and, when its bit rate is known, within `max_kbps`.
    pub fn is_web_playable(&self, max_edge: u32, max_kbps: u32) -> bool {
        let mp4 = self.format.split(',').any(|f| f == "mp4")
            && self.brand.as_deref().is_some_and(|b| b.trim() != "qt");
        mp4 && self.video_codec == "h264"
            && matches!(self.pix_fmt.as_deref(), Some("yuv420p" | "yuvj420p"))
            && self.audio_codec.as_deref().is_none_or(|a| a == "aac")
            && self.width.max(self.height) <= max_edge
            && self
                .video_bit_rate
                .is_none_or(|b| b <= u64::from(max_kbps) * 1000)
    }
}

/// Whether an MP4/QuickTime file's top-level `moov` box comes before its `mdat` box
/// (`head` is the file's start, as long as the boxes before `moov` or `mdat` need).
/// Box sizes are read as the format says: 32-bit, or 64-bit after a size of 1, or to the
/// end of the file for a size of 0.
pub fn index_at_front(head: &[u8], file_len: u64) -> bool {
    let mut at: u64 = 0;
    while at + 8 <= file_len {
        let Some(header) = usize::try_from(at)
            .ok()
            .and_then(|i| head.get(i..i.checked_add(16)?.min(head.len())))
        else {
            return false;
        };
        if header.len() < 8 {
            return false;
        }
        let size32 = u32::from_be_bytes([header[0], header[1], header[2], header[3]]);
        let kind = &header[4..8];
        match kind {
            b"moov" => return true,
            b"mdat" => return false,
            _ => {}
        }
        let size = match size32 {
            0 => return false,
            1 if header.len() >= 16 => {
                let mut big = [0u8; 8];
                big.copy_from_slice(&header[8..16]);
                u64::from_be_bytes(big)
            }
            1 => return false,
            n => u64::from(n),
        };
        if size < 8 {
            return false;
        }
        at = at.saturating_add(size);
    }
    false
}

/// ffmpeg's `-vf` for a rendition no larger than `max_edge` on either side (never
/// enlarged), with even sides as H.264 needs.
pub fn scale_filter(max_edge: u32) -> String {
    format!(
        "scale=w='min({max_edge},iw)':h='min({max_edge},ih)':force_original_aspect_ratio=decrease:force_divisible_by=2"
    )
}

/// The last meaningful line of a tool's error output, short enough to show a client.
pub fn reason_from(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let line = text
        .lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty())
        .unwrap_or("no output");
    let line: String = line.chars().filter(|c| !c.is_control()).take(200).collect();
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn boxes(list: &[(&[u8; 4], u32)]) -> Vec<u8> {
        let mut out = Vec::new();
        for (kind, size) in list {
            out.extend_from_slice(&size.to_be_bytes());
            out.extend_from_slice(*kind);
            out.resize(out.len() + (*size as usize - 8), 0);
        }
        out
    }

    #[test]
    fn the_index_position_is_read_from_the_top_level_boxes() {
        let front = boxes(&[(b"ftyp", 24), (b"moov", 100), (b"mdat", 1000)]);
        assert!(index_at_front(&front, front.len() as u64));
        let back = boxes(&[(b"ftyp", 24), (b"free", 8), (b"mdat", 1000), (b"moov", 100)]);
        assert!(!index_at_front(&back, back.len() as u64));
        assert!(
            !index_at_front(b"\0\0\0\x04ftyp", 8),
            "a box shorter than its header"
        );
        assert!(
            !index_at_front(&front[..10], 1124),
            "the head ends before a box"
        );
    }

    #[test]
    fn a_probe_tells_what_plays_in_browsers() {
        let json = r#"{"streams":[
            {"codec_type":"video","codec_name":"h264","width":1920,"height":1080,"pix_fmt":"yuv420p",
             "bit_rate":"4000000","side_data_list":[{"rotation":-90}]},
            {"codec_type":"audio","codec_name":"aac"}],
            "format":{"format_name":"mov,mp4,m4a,3gp,3g2,mj2","duration":"3.500000","tags":{"major_brand":"isom"}}}"#;
        let probe = parse_probe(json).expect("a probe");
        assert_eq!((probe.width, probe.height), (1080, 1920));
        assert_eq!(probe.frame_rate, None);
        let caps = Caps {
            duration_secs: 3,
            edge: 1920,
            fps: 60,
        };
        assert!(probe.beyond(caps).expect("too long").contains("3 s"));
        let fast = Probe {
            frame_rate: Some(240.0),
            duration: Some(1.0),
            ..probe.clone()
        };
        assert!(fast.beyond(caps).expect("too fast").contains("240 frames"));
        let ntsc = Probe {
            frame_rate: ratio("60000/1001"),
            duration: Some(1.0),
            ..probe.clone()
        };
        assert_eq!(ntsc.beyond(caps), None);
        assert_eq!(ratio("0/0"), None);
        assert_eq!(probe.duration, Some(3.5));
        assert_eq!(probe.video_bit_rate, Some(4_000_000));
        assert!(probe.is_web_playable(1920, 4000));
        assert!(!probe.is_web_playable(1280, 4000), "larger than the bound");
        assert!(
            !probe.is_web_playable(1920, 2500),
            "a higher bit rate than the bound"
        );
        let unknown_rate = Probe {
            video_bit_rate: None,
            ..probe.clone()
        };
        assert!(unknown_rate.is_web_playable(1920, 2500));
        let quicktime = Probe {
            brand: Some("qt  ".into()),
            ..probe.clone()
        };
        assert!(!quicktime.is_web_playable(1920, 4000));
        let hevc = Probe {
            video_codec: "hevc".into(),
            ..probe.clone()
        };
        assert!(!hevc.is_web_playable(1920, 4000));
        let webm = Probe {
            format: "matroska,webm".into(),
            video_codec: "vp9".into(),
            ..probe
        };
        assert!(!webm.is_web_playable(1920, 4000));
        assert!(parse_probe(r#"{"streams":[{"codec_type":"audio"}],"format":{}}"#).is_err());
        assert!(parse_probe("not json").is_err());
    }

    #[test]
    fn reasons_are_one_short_line() {
        assert_eq!(
            reason_from(b"a\n\ninput.mp4: Invalid data found\n\n"),
            "input.mp4: Invalid data found"
        );
        assert_eq!(reason_from(b""), "no output");
        assert_eq!(reason_from(&[b'x'; 500]).len(), 200);
    }
}
