"""HTML of the simulated phones; inline CSS and JS only, nothing from a CDN."""

# This module is a page, not Python logic: long JS lines and the word "select" in markup
# would only be mangled by line wrapping and trip the SQL heuristic.
# ruff: noqa: E501, S608

from __future__ import annotations

_STYLE = """
body{font-family:system-ui,sans-serif;margin:0;background:#eef2f0;color:#1b1b1b}
header{background:#075e54;color:#fff;padding:.8rem 1rem;display:flex;gap:1rem;align-items:center;flex-wrap:wrap}
header h1{font-size:1.1rem;margin:0;flex:1}
input,select,button{font:inherit;padding:.35rem .5rem;border-radius:6px;border:1px solid #bbb}
button{background:#128c7e;color:#fff;border:0;cursor:pointer}
button.secondary{background:#777}
main{display:grid;grid-template-columns:260px 1fr;gap:1rem;padding:1rem}
.card{background:#fff;border-radius:10px;padding:.8rem;box-shadow:0 1px 3px #0002}
.phone{padding:.4rem;border-radius:6px;cursor:pointer}
.phone.active{background:#dcf8c6}
.chat{display:flex;flex-direction:column;gap:.4rem;max-height:60vh;overflow:auto;padding:.5rem;background:#e5ddd5;border-radius:8px}
.msg{max-width:75%;padding:.45rem .6rem;border-radius:8px;white-space:pre-wrap;background:#fff}
.msg.in{align-self:flex-end;background:#dcf8c6}
.meta{font-size:.72rem;color:#666;margin-top:.2rem}
.buttons{display:flex;gap:.3rem;margin-top:.4rem;flex-wrap:wrap}
.buttons button{background:#fff;color:#128c7e;border:1px solid #128c7e}
form.row{display:flex;gap:.4rem;margin-top:.6rem}
form.row input{flex:1}
.media img,.media video{max-width:100%;max-height:14rem;border-radius:6px;display:block}
.media a{color:#075e54}
.quote{font-size:.75rem;color:#075e54;cursor:pointer;margin-left:.4rem}
#replying{font-size:.8rem;color:#075e54}
.muted{color:#666;font-size:.85rem}
"""

_SCRIPT = """
const $ = (s) => document.querySelector(s);
let org = null, phone = null, replyTo = null, lastSig = null;
const blobs = {};
const key = () => localStorage.getItem('bridgeKey') || '';
async function api(path, opts = {}) {
  opts.headers = Object.assign({'X-API-Key': key(), 'Content-Type': 'application/json'}, opts.headers || {});
  const r = await fetch(path, opts);
  const data = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(data.error || r.status);
  return data;
}
function note(t) { $('#note').textContent = t; }
async function mediaUrl(m) {
  // Files are behind the API key, so they are fetched with it and shown from a blob URL.
  if (!blobs[m.id]) {
    const r = await fetch(`/sandbox/api/${encodeURIComponent(org)}/media/${m.id}`, {headers: {'X-API-Key': key()}});
    if (!r.ok) throw new Error('media ' + r.status);
    blobs[m.id] = URL.createObjectURL(await r.blob());
  }
  return blobs[m.id];
}
function renderMedia(d, m) {
  const box = document.createElement('div'); box.className = 'media'; box.dataset.kind = m.kind;
  d.appendChild(box);
  mediaUrl(m).then(url => {
    let el;
    if (m.kind === 'image') { el = document.createElement('img'); el.src = url; el.alt = m.filename; }
    else if (m.kind === 'audio') { el = document.createElement('audio'); el.controls = true; el.src = url; }
    else if (m.kind === 'video') { el = document.createElement('video'); el.controls = true; el.src = url; }
    if (el) box.appendChild(el);
    const a = document.createElement('a'); a.href = url; a.download = m.filename;
    a.textContent = `${m.filename} (${Math.ceil(m.size / 1024)} KB)`; box.appendChild(a);
  }).catch(e => { box.textContent = 'Error: ' + e.message; });
}
function readBase64(file) {
  return new Promise((resolve, reject) => { const r = new FileReader();
    r.onload = () => resolve(r.result.split(',', 2)[1]); r.onerror = () => reject(r.error); r.readAsDataURL(file); });
}
function kindOf(file) {
  const t = file.type || '';
  return t.startsWith('image/') ? 'image' : t.startsWith('audio/') ? 'audio' : t.startsWith('video/') ? 'video' : 'document';
}
async function refresh() {
  if (!key()) { note('Enter the bridge API key to see the simulated phones.'); return; }
  try {
    const s = await api('/sandbox/api/sessions');
    const sel = $('#org');
    const current = sel.value;
    sel.innerHTML = s.sessions.map(x => `<option value="${x.organization_id}">${x.organization_id} - ${x.status}${x.phone_number ? ' ' + x.phone_number : ''}</option>`).join('');
    if (current) sel.value = current;
    org = sel.value || null;
    if (!org) { note('No sandbox session yet: start one from the clinic.'); return; }
    const m = await api(`/sandbox/api/${encodeURIComponent(org)}/messages?direction=all`);
    const phones = [...new Set(m.messages.map(x => x.phone))];
    if (!phone && phones.length) phone = phones[0];
    $('#phones').innerHTML = phones.map(p => `<div class="phone ${p === phone ? 'active' : ''}" data-p="${p}">${p}</div>`).join('') || '<p class="muted">No messages yet.</p>';
    document.querySelectorAll('.phone').forEach(el => el.onclick = () => { phone = el.dataset.p; refresh(); });
    $('#title').textContent = phone ? `Chat with the clinic (${org}) on ${phone}` : 'Chat';
    const chat = $('#chat');
    const shown = m.messages.filter(x => x.phone === phone);
    // Redrawn only when something changed, so that a playing voice note is not cut off.
    const sig = JSON.stringify([org, phone, shown]);
    if (sig === lastSig) { note(''); return; }
    lastSig = sig;
    chat.innerHTML = '';
    shown.forEach(x => {
      const d = document.createElement('div');
      d.className = 'msg ' + x.direction;
      d.dataset.id = x.whatsapp_id;
      d.textContent = x.text;
      if (x.media) renderMedia(d, x.media);
      if (x.direction === 'out' && x.buttons.length) {
        const b = document.createElement('div'); b.className = 'buttons';
        x.buttons.forEach(btn => { const e = document.createElement('button'); e.textContent = btn.title;
          e.onclick = () => send({phone, button_id: btn.id}); b.appendChild(e); });
        d.appendChild(b);
      }
      const meta = document.createElement('div'); meta.className = 'meta';
      meta.textContent = x.direction === 'out' ? x.status : 'you';
      const q = document.createElement('span'); q.className = 'quote'; q.textContent = 'reply';
      q.onclick = () => { replyTo = x.whatsapp_id; $('#replying').textContent = 'Replying to: ' + (x.text || (x.media && x.media.filename) || x.whatsapp_id); };
      meta.appendChild(q);
      d.appendChild(meta); chat.appendChild(d);
    });
    chat.scrollTop = chat.scrollHeight;
    note('');
  } catch (e) { note('Error: ' + e.message); }
}
async function send(body) {
  try { await api(`/sandbox/api/${encodeURIComponent(org)}/reply`, {method: 'POST', body: JSON.stringify(body)}); refresh(); }
  catch (e) { note('Error: ' + e.message); }
}
$('#key').value = key();
$('#key').onchange = (e) => { localStorage.setItem('bridgeKey', e.target.value.trim()); refresh(); };
$('#org').onchange = () => { phone = null; refresh(); };
$('#reply').onsubmit = async (e) => { e.preventDefault(); const t = $('#text').value.trim();
  const p = $('#as').value.trim() || phone; const file = $('#file').files[0];
  if ((!t && !file) || !p) return;
  const body = {phone: p};
  if (t) body.text = t;
  if (replyTo) body.reply_to = replyTo;
  if (file) body.media = {kind: kindOf(file), mime_type: file.type || 'application/octet-stream', filename: file.name, data: await readBase64(file)};
  phone = p; $('#text').value = ''; $('#file').value = ''; replyTo = null; $('#replying').textContent = '';
  send(body); };
$('#pair').onsubmit = async (e) => { e.preventDefault();
  try { const r = await api('/sandbox/api/pair', {method: 'POST', body: JSON.stringify({code: $('#code').value})});
    note(`Linked ${r.organization_id} to ${r.phone_number}`); $('#code').value = ''; refresh(); } catch (err) { note('Error: ' + err.message); } };
$('#drop').onclick = async () => { try { await api(`/sandbox/api/${encodeURIComponent(org)}/disconnect`, {method: 'POST', body: '{"seconds": 5}'}); refresh(); } catch (e) { note('Error: ' + e.message); } };
$('#unlink').onclick = async () => { try { await api(`/sandbox/api/${encodeURIComponent(org)}/logout`, {method: 'POST'}); refresh(); } catch (e) { note('Error: ' + e.message); } };
refresh(); setInterval(refresh, 2000);
"""

PAGE = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>WhatsApp sandbox - simulated phones</title><style>{_STYLE}</style></head>
<body>
<header><h1>WhatsApp sandbox: simulated phones</h1>
<label>API key <input id="key" type="password" autocomplete="off"></label>
<label>Clinic <select id="org"></select></label>
<button id="drop" class="secondary" title="Drop the connection for 5 s">Drop connection</button>
<button id="unlink" class="secondary" title="Remove the linked device from the phone">Unlink device</button>
</header>
<main>
<section class="card"><h3>Phones</h3><div id="phones"></div>
<form id="pair" class="row"><input id="code" placeholder="Pairing code ABCD-EFGH"><button>Link</button></form>
<p class="muted">Scanning a QR: open its link in this browser.</p></section>
<section class="card"><h3 id="title">Chat</h3><div id="chat" class="chat"></div>
<form id="reply" class="row"><input id="as" placeholder="+573001234567 (as phone)" style="max-width:14rem">
<input id="text" placeholder="Write to the clinic (or a caption)"><input id="file" type="file" accept="image/*,application/pdf,.docx,.xlsx,audio/*,video/mp4" style="max-width:14rem" title="Attach an image, document, voice note or video"><button>Send</button></form>
<div id="replying"></div>
<p id="note" class="muted"></p></section>
</main>
<script>{_SCRIPT}</script>
</body></html>
"""


def confirmation_page(title: str, body_html: str, ok: bool) -> str:
    color = "#128c7e" if ok else "#b00020"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{title}</title><style>{_STYLE} .box{{max-width:32rem;margin:3rem auto;border-top:6px solid {color}}}</style></head>
<body><div class="card box"><h2>{title}</h2><p>{body_html}</p>
<p class="muted"><a href="/sandbox/">Open the simulated phones</a></p></div></body></html>
"""
