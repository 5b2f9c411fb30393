// Joins the host's `chunk` frames back into the message they were cut from (docs/protocol.md, "Chunks").

export class ChunkJoiner {
  constructor() {
    this.streams = new Map();
  }

  /**
   * Feed one frame. Returns the whole message when the frame completes one (or was not a chunk at all),
   * null while a message is still arriving. Throws on chunks out of order, naming the stream.
   */
  accept(frame) {
    if (!frame || frame.type !== "chunk") return frame;
    const { stream, seq, last, data } = frame;
    if (typeof stream !== "string" || !Number.isInteger(seq) || typeof data !== "string") {
      throw new Error("malformed chunk frame");
    }
    const parts = this.streams.get(stream) ?? [];
    if (seq !== parts.length) {
      this.streams.delete(stream);
      throw new Error(`chunk ${seq} of stream ${stream} arrived out of order (expected ${parts.length})`);
    }
    parts.push(data);
    if (!last) {
      this.streams.set(stream, parts);
      return null;
    }
    this.streams.delete(stream);
    return JSON.parse(parts.join(""));
  }

  get pending() {
    return this.streams.size;
  }
}
