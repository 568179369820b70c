// The site's icon, a white lower-case h on the theme colour: as an SVG data URI for the pages'
// <head>, and as /favicon.ico for the pages that have no icon link (TypeDoc's API reference, the
// dev server's page shell), which browsers otherwise request and log as a 404.

/** The theme colour (the icon's background). */
const GREEN: readonly [number, number, number] = [0x3c, 0x87, 0x72];

/** The glyph, 16 x 16, top row first: `#` is white, `.` the background, ` ` transparent. */
const GLYPH = [
  ' ..............',
  '................',
  '................',
  '....##..........',
  '....##..........',
  '....##..........',
  '....##.####.....',
  '....########....',
  '....###...###...',
  '....##.....##...',
  '....##.....##...',
  '....##.....##...',
  '....##.....##...',
  '....##.....##...',
  '................',
  ' .............. ',
].map((row) => row.padEnd(16, ' '));

/** The icon as an SVG document. */
export const FAVICON_SVG =
  "<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 32 32'><rect width='32' height='32' rx='6' fill='#3c8772'/><text x='16' y='23' font-family='sans-serif' font-size='20' font-weight='700' text-anchor='middle' fill='#fff'>h</text></svg>";

/** The icon as a data URI, for <link rel="icon">. */
export const FAVICON_DATA_URI = `data:image/svg+xml,${encodeURIComponent(FAVICON_SVG)}`;

/** The icon as a Windows .ico file: one 16 x 16, 32-bit image. */
export function faviconIco(): Uint8Array {
  const size = 16;
  const pixels = size * size * 4;
  const mask = size * 4; // 1 bit per pixel, rows padded to 32 bits
  const image = 40 + pixels + mask;
  const out = new Uint8Array(6 + 16 + image);
  const view = new DataView(out.buffer);
  view.setUint16(2, 1, true); // type: icon
  view.setUint16(4, 1, true); // one image
  out[6] = size;
  out[7] = size;
  view.setUint16(10, 1, true); // colour planes
  view.setUint16(12, 32, true); // bits per pixel
  view.setUint32(14, image, true);
  view.setUint32(18, 22, true); // offset of the image
  const bmp = 22;
  view.setUint32(bmp, 40, true); // BITMAPINFOHEADER
  view.setInt32(bmp + 4, size, true);
  view.setInt32(bmp + 8, size * 2, true); // colour rows + mask rows
  view.setUint16(bmp + 12, 1, true);
  view.setUint16(bmp + 14, 32, true);
  view.setUint32(bmp + 20, pixels + mask, true);
  for (let y = 0; y < size; y++) {
    const row = GLYPH[size - 1 - y] ?? ''; // bottom-up
    for (let x = 0; x < size; x++) {
      const at = bmp + 40 + (y * size + x) * 4;
      const cell = row[x];
      const [r, g, b] = cell === '#' ? [255, 255, 255] : GREEN;
      out[at] = b;
      out[at + 1] = g;
      out[at + 2] = r;
      out[at + 3] = cell === ' ' ? 0 : 255;
    }
  }
  return out;
}
