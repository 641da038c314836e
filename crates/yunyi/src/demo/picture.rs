//! The demo's picture message: a patient's two weeks of blood pressure, drawn as a chart and
//! encoded as a PNG here (uncompressed deflate: no image library for one small demo picture).

const WIDTH: usize = 320;
const HEIGHT: usize = 200;
const WHITE: [u8; 3] = [255, 255, 255];
const GRID: [u8; 3] = [222, 229, 230];
const SYSTOLIC: [u8; 3] = [200, 40, 40];
const DIASTOLIC: [u8; 3] = [30, 90, 180];
const TARGET: [u8; 3] = [11, 122, 117];

/// Morning readings over 14 days, in mmHg: high at first, coming down with treatment.
const READINGS: [(u16, u16); 14] = [
    (152, 96),
    (149, 95),
    (150, 94),
    (147, 93),
    (146, 94),
    (145, 92),
    (143, 91),
    (144, 90),
    (141, 90),
    (139, 88),
    (140, 88),
    (137, 87),
    (136, 86),
    (135, 85),
];

struct Canvas {
    pixels: Vec<[u8; 3]>,
}

impl Canvas {
    fn new() -> Self {
        Self {
            pixels: vec![WHITE; WIDTH * HEIGHT],
        }
    }

    fn dot(&mut self, x: i64, y: i64, colour: [u8; 3]) {
        if let (Ok(x), Ok(y)) = (usize::try_from(x), usize::try_from(y)) {
            if x < WIDTH && y < HEIGHT {
                self.pixels[y * WIDTH + x] = colour;
            }
        }
    }

    /// A line two pixels thick.
    fn line(&mut self, (x0, y0): (i64, i64), (x1, y1): (i64, i64), colour: [u8; 3]) {
        let steps = (x1 - x0).abs().max((y1 - y0).abs()).max(1);
        for i in 0..=steps {
            let x = x0 + (x1 - x0) * i / steps;
            let y = y0 + (y1 - y0) * i / steps;
            for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                self.dot(x + dx, y + dy, colour);
            }
        }
    }
}

/// The y of a reading: 60 mmHg at the bottom, 170 at the top.
fn y_of(mmhg: u16) -> i64 {
    let height = i64::try_from(HEIGHT).unwrap_or(200) - 20;
    10 + (170 - i64::from(mmhg)) * height / 110
}

fn x_of(day: usize) -> i64 {
    20 + i64::try_from(day * (WIDTH - 40) / (READINGS.len() - 1)).unwrap_or(0)
}

/// The chart as a PNG.
pub fn blood_pressure_chart() -> Vec<u8> {
    let mut c = Canvas::new();
    for mmhg in (60..=170).step_by(10) {
        c.line(
            (0, y_of(mmhg)),
            (i64::try_from(WIDTH).unwrap_or(320), y_of(mmhg)),
            GRID,
        );
    }
    // The 140/90 line a hypertensive patient aims to stay under.
    c.line(
        (0, y_of(140)),
        (i64::try_from(WIDTH).unwrap_or(320), y_of(140)),
        TARGET,
    );
    c.line(
        (0, y_of(90)),
        (i64::try_from(WIDTH).unwrap_or(320), y_of(90)),
        TARGET,
    );
    for (day, pair) in READINGS.windows(2).enumerate() {
        let (a, b) = (pair[0], pair[1]);
        c.line((x_of(day), y_of(a.0)), (x_of(day + 1), y_of(b.0)), SYSTOLIC);
        c.line(
            (x_of(day), y_of(a.1)),
            (x_of(day + 1), y_of(b.1)),
            DIASTOLIC,
        );
    }
    png(&c)
}

fn png(c: &Canvas) -> Vec<u8> {
    let mut raw = Vec::with_capacity(HEIGHT * (1 + WIDTH * 3));
    for row in c.pixels.chunks(WIDTH) {
        raw.push(0); // filter: none
        for p in row {
            raw.extend_from_slice(p);
        }
    }
    let mut out = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
    let mut header = Vec::new();
    header.extend_from_slice(&u32::try_from(WIDTH).unwrap_or(0).to_be_bytes());
    header.extend_from_slice(&u32::try_from(HEIGHT).unwrap_or(0).to_be_bytes());
    header.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit RGB, no interlace
    chunk(&mut out, b"IHDR", &header);
    chunk(&mut out, b"IDAT", &zlib_stored(&raw));
    chunk(&mut out, b"IEND", &[]);
    out
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&u32::try_from(data.len()).unwrap_or(0).to_be_bytes());
    let mut crc_input = kind.to_vec();
    crc_input.extend_from_slice(data);
    out.extend_from_slice(&crc_input);
    out.extend_from_slice(&crc32(&crc_input).to_be_bytes());
}

/// A zlib stream of stored (uncompressed) deflate blocks.
fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x78, 0x01];
    let blocks: Vec<&[u8]> = data.chunks(65_535).collect();
    for (i, block) in blocks.iter().enumerate() {
        out.push(u8::from(i + 1 == blocks.len()));
        let len = u16::try_from(block.len()).unwrap_or(u16::MAX);
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(block);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for byte in data {
        a = (a + u32::from(*byte)) % 65_521;
        b = (b + a) % 65_521;
    }
    out.extend_from_slice(&((b << 16) | a).to_be_bytes());
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for byte in data {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use std::io::Read as _;

    #[test]
    fn the_chart_is_a_png_a_standard_inflater_reads() {
        let png = super::blood_pressure_chart();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        // IHDR: 320 × 200, 8-bit RGB.
        assert_eq!(&png[12..16], b"IHDR");
        assert_eq!(&png[16..24], &[0, 0, 1, 64, 0, 0, 0, 200]);
        // The known CRC-32 of "IEND".
        assert_eq!(super::crc32(b"IEND"), 0xAE42_6082);
        let idat_at = png.windows(4).position(|w| w == b"IDAT").unwrap();
        let len = u32::from_be_bytes(png[idat_at - 4..idat_at].try_into().unwrap()) as usize;
        let mut raw = Vec::new();
        flate2::read::ZlibDecoder::new(&png[idat_at + 4..idat_at + 4 + len])
            .read_to_end(&mut raw)
            .unwrap();
        assert_eq!(raw.len(), 200 * (1 + 320 * 3));
        // Red is drawn somewhere (the systolic line), and the corner is white.
        let red = raw
            .chunks(1 + 320 * 3)
            .any(|row| row[1..].chunks(3).any(|p| p == [200, 40, 40]));
        assert!(red);
        assert_eq!(&raw[1..4], &[255, 255, 255]);
    }
}
