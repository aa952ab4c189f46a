// A tool output worth compressing: 400 lines of a service log with a few failures in it, as an
// agent's `cat app.log` would return. (Shared by the examples; not part of the API.)
export const TASK = "Why are uploads failing?";

export function serviceLog() {
  const lines = [];
  for (let i = 0; i < 400; i++) {
    const time = `2026-01-12T10:${String(Math.floor(i / 60) % 60).padStart(2, "0")}:${String(i % 60).padStart(2, "0")}Z`;
    if (i % 97 === 13) {
      lines.push(`${time} ERROR upload-worker-${i % 4} PUT /bucket/obj-${i} failed: 503 SlowDown (retry ${i % 3}/3)`);
    } else {
      lines.push(`${time} INFO  upload-worker-${i % 4} PUT /bucket/obj-${i} 200 in ${20 + ((i * 37) % 180)} ms`);
    }
  }
  return lines.join("\n");
}
