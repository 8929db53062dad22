"use strict";
// HandTracker page: photo upload (POST v1/landmarks) and live camera (WebSocket v1/stream).
// Paths are relative so the page works behind an ingress path prefix.

(() => {
  const cfg = JSON.parse(document.getElementById("page-config").textContent);
  const $ = (id) => document.getElementById(id);
  const LIVE_WIDTH = 640; // frames are downscaled to this width before sending
  const MAX_IN_FLIGHT = 2; // frames sent but not answered; bounds the latency
  const JPEG_QUALITY = 0.8;

  const GESTURE_NAMES = {
    open_palm: "Open palm", fist: "Fist", pointing: "Pointing", victory: "Victory",
    thumbs_up: "Thumbs up", thumbs_down: "Thumbs down", ok: "OK", pinch: "Pinch",
    unknown: "–",
  };
  const gestureName = (g) => GESTURE_NAMES[g] || g || "–";

  function setStatus(el, text, kind = "info") {
    el.textContent = text;
    el.className = "status " + (text ? kind : "");
  }

  // ---- drawing (the same rainbow skeleton as the server's /v1/annotate) ----

  // points: 21 normalised [x, y] pairs.
  function drawSkeleton(ctx, points, width, height, minWidth = 2) {
    const lineWidth = Math.max(minWidth, Math.round(Math.min(width, height) / 200));
    const radius = Math.max(2, Math.round(lineWidth * 1.2));
    const px = (i) => [points[i][0] * width, points[i][1] * height];
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    ctx.lineWidth = lineWidth;
    for (const [finger, idx] of Object.entries(cfg.fingers)) {
      ctx.strokeStyle = cfg.fingerColours[finger];
      ctx.beginPath();
      ctx.moveTo(...px(0));
      for (const i of idx) ctx.lineTo(...px(i));
      ctx.stroke();
    }
    ctx.fillStyle = "#ffffff";
    for (let i = 0; i < points.length; i++) {
      ctx.beginPath();
      ctx.arc(...px(i), radius, 0, 2 * Math.PI);
      ctx.fill();
    }
  }

  // ---- tabs ----

  for (const tab of document.querySelectorAll("[role=tab]")) {
    tab.addEventListener("click", () => {
      for (const other of document.querySelectorAll("[role=tab]")) {
        const selected = other === tab;
        other.setAttribute("aria-selected", String(selected));
        $(other.dataset.panel).hidden = !selected;
      }
    });
  }

  // ---- photo upload ----

  const upload = {
    status: $("upload-status"),
    result: null, // last JSON answer
    name: "photo",
    file: null, // the last photo, sent again when the thorough switch changes
  };
  const thorough = $("thorough");
  thorough.checked = cfg.thorough;
  thorough.addEventListener("change", () => sendPhoto(upload.file));

  function httpErrorText(response, body) {
    const detail = body && body.error ? body.error.message : response.statusText;
    if (response.status === 503) {
      const retry = response.headers.get("Retry-After");
      return `The server is busy (503): ${detail}.` + (retry ? ` Try again in ${retry} s.` : "");
    }
    return `The server refused the photo (${response.status}): ${detail}.`;
  }

  async function sendPhoto(file) {
    if (!file) return;
    upload.file = file;
    upload.name = (file.name || "photo").replace(/\.[^.]+$/, "");
    setStatus(upload.status, `Finding hands in ${file.name || "the photo"}…`);
    $("upload-result").hidden = true;
    const form = new FormData();
    form.append("image", file);
    let response;
    let body = null;
    try {
      const mode = thorough.checked ? cfg.modes.on : cfg.modes.off;
      response = await fetch(`v1/landmarks?mode=${mode}`, { method: "POST", body: form });
      body = await response.json().catch(() => null);
    } catch (err) {
      setStatus(upload.status, "Cannot reach the server. Is it running?", "error");
      return;
    }
    if (!response.ok) {
      setStatus(upload.status, httpErrorText(response, body), response.status === 503 ? "warn" : "error");
      return;
    }
    upload.result = body;
    const img = $("original");
    img.src = URL.createObjectURL(file);
    try {
      await img.decode();
    } catch (err) {
      setStatus(upload.status, "The browser cannot display this image, but the server read it.", "warn");
    }
    showPhotoResult(img, body);
  }

  function showPhotoResult(img, body) {
    const canvas = $("annotated");
    canvas.width = img.naturalWidth || body.image.width;
    canvas.height = img.naturalHeight || body.image.height;
    const ctx = canvas.getContext("2d");
    ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
    for (const hand of body.hands) {
      drawSkeleton(ctx, hand.landmarks.map((p) => [p.x, p.y]), canvas.width, canvas.height);
    }
    $("hand-count").textContent = String(body.hands.length);

    const rows = $("hands-table").tBodies[0];
    rows.replaceChildren();
    body.hands.forEach((hand, i) => {
      const tr = rows.insertRow();
      tr.insertCell().textContent = String(i + 1);
      tr.insertCell().textContent = hand.handedness.label;
      tr.insertCell().textContent = hand.handedness.score.toFixed(2);
      const badge = document.createElement("span");
      badge.className = "gesture";
      badge.dataset.gesture = hand.gesture || "";
      badge.textContent = gestureName(hand.gesture);
      tr.insertCell().append(badge);
    });
    $("hands-table").hidden = body.hands.length === 0;
    fillLandmarkTables(body);

    const t = body.timings || {};
    $("upload-timings").textContent =
      `${body.image.width}×${body.image.height} ${body.image.format || ""} · ` +
      `decode ${t.decodeMs} ms · inference ${t.inferenceMs} ms · total ${t.totalMs} ms on the server`;
    $("upload-result").hidden = false;
    if (body.hands.length === 0) {
      setStatus(upload.status, "No hand found in this photo.", "warn");
    } else {
      const n = body.hands.length;
      setStatus(upload.status, `Found ${n} hand${n > 1 ? "s" : ""}.`);
    }
  }

  function fillLandmarkTables(body) {
    const box = $("landmarks");
    box.replaceChildren();
    body.hands.forEach((hand, i) => {
      const table = document.createElement("table");
      table.createCaption().textContent = `Hand ${i + 1} (${hand.handedness.label})`;
      const head = table.createTHead().insertRow();
      for (const h of ["Landmark", "x px", "y px", "x", "y", "z"]) {
        const th = document.createElement("th");
        th.textContent = h;
        head.append(th);
      }
      const tbody = table.createTBody();
      hand.landmarks.forEach((p, j) => {
        const tr = tbody.insertRow();
        const pixel = hand.pixel[j];
        for (const v of [p.name, pixel.x.toFixed(1), pixel.y.toFixed(1), p.x.toFixed(4), p.y.toFixed(4), p.z.toFixed(4)]) {
          tr.insertCell().textContent = v;
        }
      });
      box.append(table);
    });
    box.hidden = !$("show-landmarks").checked;
  }

  function download(blob, name) {
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = name;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  }

  $("show-landmarks").addEventListener("change", (e) => { $("landmarks").hidden = !e.target.checked; });
  $("download-json").addEventListener("click", () => {
    if (!upload.result) return;
    const blob = new Blob([JSON.stringify(upload.result, null, 2)], { type: "application/json" });
    download(blob, `${upload.name}.hands.json`);
  });
  $("download-png").addEventListener("click", () => {
    $("annotated").toBlob((blob) => blob && download(blob, `${upload.name}.annotated.png`), "image/png");
  });
  $("file-input").addEventListener("change", (e) => sendPhoto(e.target.files[0]));
  const zone = $("drop-zone");
  zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("dragging"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("dragging"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("dragging");
    sendPhoto(e.dataTransfer.files[0]);
  });

  // ---- live camera ----

  const live = {
    status: $("live-status"),
    video: $("camera"),
    overlay: $("overlay"),
    grab: document.createElement("canvas"),
    stream: null,
    socket: null,
    inFlight: 0,
    sentAt: [], // send times of the frames in flight, oldest first
    answered: [], // arrival times of recent results, for the frame rate
    latency: null, // smoothed round trip, ms
    frames: 0,
    running: false,
  };

  const select = $("max-hands");
  for (let n = 1; n <= cfg.maxHands; n++) select.add(new Option(String(n), String(n)));

  function cameraErrorText(err) {
    switch (err && err.name) {
      case "NotAllowedError":
      case "SecurityError":
        return "Camera permission was denied. Allow camera access for this page in the browser and press Start camera again.";
      case "NotFoundError":
      case "OverconstrainedError":
        return "No camera was found on this device.";
      case "NotReadableError":
      case "AbortError":
        return "The camera is in use by another application or could not be started.";
      default:
        return `The camera could not be started: ${err && err.message ? err.message : err}.`;
    }
  }

  async function startCamera() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      setStatus(live.status, "This browser offers no camera here. Camera access needs HTTPS (or http://localhost).", "error");
      return;
    }
    $("camera-start").disabled = true;
    setStatus(live.status, "Starting the camera…");
    try {
      live.stream = await navigator.mediaDevices.getUserMedia({
        video: { width: { ideal: 1280 }, height: { ideal: 720 }, facingMode: "user" },
        audio: false,
      });
    } catch (err) {
      setStatus(live.status, cameraErrorText(err), "error");
      $("camera-start").disabled = false;
      return;
    }
    live.video.srcObject = live.stream;
    await live.video.play().catch(() => {});
    const facing = live.stream.getVideoTracks()[0]?.getSettings().facingMode;
    document.querySelector(".stage").classList.toggle("mirrored", facing !== "environment");
    $("camera-stop").disabled = false;
    connect();
  }

  function connect() {
    const url = new URL(`v1/stream?maxHands=${select.value}`, location.href);
    url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
    setStatus(live.status, "Connecting to the server…");
    const socket = new WebSocket(url);
    socket.binaryType = "arraybuffer";
    live.socket = socket;
    Object.assign(live, { inFlight: 0, sentAt: [], answered: [], latency: null, frames: 0 });
    socket.onmessage = (event) => onMessage(JSON.parse(event.data));
    socket.onclose = (event) => {
      if (live.socket !== socket) return;
      live.socket = null;
      if (live.running) {
        setStatus(live.status, `The connection to the server closed (code ${event.code}). Press Start camera to retry.`, "error");
      }
      stopCamera(false);
    };
  }

  function onMessage(msg) {
    if (msg.type === "ready") {
      live.running = true;
      setStatus(live.status, `Tracking up to ${msg.maxHands} hand${msg.maxHands > 1 ? "s" : ""}.`);
      nextFrame();
    } else if (msg.type === "result") {
      onResult(msg);
    } else if (msg.type === "error") {
      const code = msg.error.code;
      if (code === "busy") {
        live.running = false;
        setStatus(live.status, "The server is busy: all its live sessions are in use. Try again in a moment.", "warn");
      } else if (code === "shutting_down") {
        live.running = false;
        setStatus(live.status, "The server is restarting. Press Start camera to reconnect.", "warn");
      } else if (code === "idle_timeout") {
        live.running = false;
        setStatus(live.status, "The session was closed after a pause. Press Start camera to go on.", "warn");
      } else {
        live.inFlight = Math.max(0, live.inFlight - 1);
        live.sentAt.shift();
        setStatus(live.status, `A frame was rejected: ${msg.error.message}`, "warn");
      }
    }
  }

  // Offer each new camera frame once (requestVideoFrameCallback), so a fast
  // server is not sent the same picture twice; frames that arrive while
  // MAX_IN_FLIGHT are unanswered are skipped, not queued.
  function nextFrame() {
    if (live.video.requestVideoFrameCallback) live.video.requestVideoFrameCallback(pump);
    else requestAnimationFrame(pump);
  }

  function pump() {
    if (!live.running || !live.socket) return;
    const v = live.video;
    if (live.socket.readyState === WebSocket.OPEN && live.inFlight < MAX_IN_FLIGHT && v.videoWidth > 0) {
      const scale = Math.min(1, LIVE_WIDTH / v.videoWidth);
      live.grab.width = Math.round(v.videoWidth * scale);
      live.grab.height = Math.round(v.videoHeight * scale);
      live.grab.getContext("2d").drawImage(v, 0, 0, live.grab.width, live.grab.height);
      live.inFlight++;
      live.sentAt.push(performance.now());
      live.grab.toBlob((blob) => {
        if (blob && live.socket && live.socket.readyState === WebSocket.OPEN) live.socket.send(blob);
      }, "image/jpeg", JPEG_QUALITY);
    }
    nextFrame();
  }

  function onResult(msg) {
    const now = performance.now();
    live.inFlight = Math.max(0, live.inFlight - 1);
    const sent = live.sentAt.shift();
    if (sent !== undefined) {
      const rtt = now - sent;
      live.latency = live.latency === null ? rtt : 0.8 * live.latency + 0.2 * rtt;
    }
    live.frames++;
    live.answered.push(now);
    while (live.answered.length && now - live.answered[0] > 2000) live.answered.shift();
    const span = live.answered.length > 1 ? (now - live.answered[0]) / 1000 : 0;
    const fps = span > 0 ? (live.answered.length - 1) / span : 0;

    $("fps").textContent = fps.toFixed(1);
    $("latency").textContent = `${Math.round(live.latency)} ms`;
    $("server-ms").textContent = `${msg.timings.inferenceMs.toFixed(1)} ms`;
    $("frames").textContent = String(live.frames);

    const o = live.overlay;
    if (o.width !== live.video.videoWidth || o.height !== live.video.videoHeight) {
      o.width = live.video.videoWidth;
      o.height = live.video.videoHeight;
    }
    const ctx = o.getContext("2d");
    ctx.clearRect(0, 0, o.width, o.height);
    for (const hand of msg.hands) {
      drawSkeleton(ctx, hand.landmarks.map((p) => [p.x, p.y]), o.width, o.height, 3);
    }
    $("no-hand").hidden = msg.hands.length > 0;
    const list = $("live-gestures");
    if (msg.hands.length === 0) {
      const li = document.createElement("li");
      li.className = "muted";
      li.textContent = "No hand in view.";
      list.replaceChildren(li);
      return;
    }
    list.replaceChildren(...msg.hands.map((hand) => {
      const li = document.createElement("li");
      const badge = document.createElement("span");
      badge.className = "gesture";
      badge.dataset.gesture = hand.gesture;
      badge.textContent = gestureName(hand.gesture);
      li.append(`${hand.handedness.label} hand `, badge);
      return li;
    }));
  }

  function stopCamera(userAction = true) {
    live.running = false;
    if (live.socket) {
      const socket = live.socket;
      live.socket = null;
      socket.close(1000);
    }
    if (live.stream) {
      for (const track of live.stream.getTracks()) track.stop();
      live.stream = null;
    }
    live.video.srcObject = null;
    $("camera-start").disabled = false;
    $("camera-stop").disabled = true;
    if (userAction) setStatus(live.status, "Camera stopped.");
  }

  $("camera-start").addEventListener("click", startCamera);
  $("camera-stop").addEventListener("click", () => stopCamera(true));
})();
