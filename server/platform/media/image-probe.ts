/**
 * What the server makes of an uploaded image, with sharp: its size, a copy
 * without metadata (EXIF carries the camera's location), a thumbnail and a
 * tiny placeholder. Animations are kept (every frame re-encoded in the same
 * format). An image with more pixels than allowed is refused from its
 * header, before anything is decoded (decompression bombs).
 */
import sharp from "sharp";

/** Largest side of a thumbnail, in pixels. */
export const thumbnailSide = 320;
/** Largest side of a placeholder, in pixels. */
export const placeholderSide = 16;

/** The measured image and the files made from it. */
export interface ProbedImage {
  /** Width after EXIF orientation (of one frame). */
  width: number;
  /** Height after EXIF orientation (of one frame). */
  height: number;
  frames: number;
  /** A tiny WebP to show while the thumbnail loads. */
  placeholder: Buffer;
}

/** The image has more pixels than allowed. */
export class ImageTooLargeError extends Error {
  constructor(
    readonly pixels: number,
    readonly limit: number,
  ) {
    super(`the image has ${pixels} pixels; at most ${limit} are accepted`);
    this.name = "ImageTooLargeError";
  }
}

/** The bytes are not a decodable image of the type they claim. */
export class BadImageError extends Error {
  constructor(cause: unknown) {
    super("the image could not be decoded", { cause });
    this.name = "BadImageError";
  }
}

/**
 * Writes `cleanPath` (the image re-encoded without metadata, oriented
 * upright) and `thumbPath` (a WebP of at most {@link thumbnailSide}) from
 * `srcPath`, and measures it.
 */
export async function probeImage(
  srcPath: string,
  cleanPath: string,
  thumbPath: string,
  maxPixels: number,
): Promise<ProbedImage> {
  let meta: sharp.Metadata;
  try {
    meta = await sharp(srcPath, { animated: true, limitInputPixels: false }).metadata();
  } catch (err) {
    throw new BadImageError(err);
  }
  const frames = meta.pages ?? 1;
  const frameHeight = meta.pageHeight ?? meta.height ?? 0;
  const frameWidth = meta.width ?? 0;
  const pixels = frameWidth * frameHeight * frames;
  if (pixels > maxPixels) throw new ImageTooLargeError(pixels, maxPixels);
  if (!meta.format || frameWidth === 0 || frameHeight === 0) {
    throw new BadImageError(new Error("no size"));
  }
  const animated = frames > 1;
  // limitInputPixels counts every frame of an animation (their pages stacked).
  const opts = { animated, limitInputPixels: Math.max(1, pixels) };
  try {
    let clean = sharp(srcPath, opts);
    // EXIF orientation applies to still images; animations carry none.
    if (!animated) clean = clean.autoOrient();
    // No withMetadata(): sharp writes no EXIF, XMP or IPTC unless asked.
    const format = meta.format === "heif" ? "avif" : meta.format;
    await clean
      .toFormat(format as keyof sharp.FormatEnum, format === "jpeg" ? { quality: 90 } : {})
      .toFile(cleanPath);
    const first = sharp(cleanPath, { limitInputPixels: Math.max(1, pixels) });
    await first
      .clone()
      .resize(thumbnailSide, thumbnailSide, { fit: "inside", withoutEnlargement: true })
      .webp({ quality: 75 })
      .toFile(thumbPath);
    const placeholder = await first
      .clone()
      .resize(placeholderSide, placeholderSide, { fit: "inside" })
      .webp({ quality: 40 })
      .toBuffer();
    const swap = !animated && (meta.orientation ?? 1) >= 5;
    return {
      width: swap ? frameHeight : frameWidth,
      height: swap ? frameWidth : frameHeight,
      frames,
      placeholder,
    };
  } catch (err) {
    throw new BadImageError(err);
  }
}
