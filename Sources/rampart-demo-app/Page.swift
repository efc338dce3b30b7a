/// The demo UI served at `/`. Same-origin fetches only, so it works unchanged behind Rampart's CSP
/// (`connect-src 'self'`, inline script allowed). It shows what Rampart adds: the streamed chapter
/// followed by Rampart's `save_status` event, and what truncation did to a long chat.
enum Page {
    static let html = #"""
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>Demo AI book app</title>
        <style>
          body { font: 15px/1.5 system-ui, sans-serif; max-width: 46rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
          h1 { margin-bottom: 0; } .sub { color: #666; margin-top: .2rem; }
          section { border: 1px solid #ddd; border-radius: 8px; padding: 1rem; margin: 1rem 0; }
          label { display: block; margin: .4rem 0; } input[type=text], textarea { width: 100%; box-sizing: border-box; }
          pre { white-space: pre-wrap; background: #f7f7f7; padding: .6rem; border-radius: 6px; min-height: 1.5rem; }
          .status { padding: .4rem .6rem; border-radius: 6px; margin-top: .5rem; }
          .success { background: #e3f6e5; } .failed { background: #fde4e4; } .pending { background: #fff5d6; } .none { background: #eee; }
          .msg { margin: .3rem 0; } .user { color: #035; } .assistant { color: #530; }
        </style>
        </head>
        <body>
        <h1>Demo AI book app</h1>
        <p class="sub">The app behind Rampart. It has no hardening of its own.</p>

        <section>
          <h2>Generate a chapter</h2>
          <label>Chapter id <input type="text" id="chapter" value="c42"></label>
          <label>Prompt <textarea id="prompt" rows="2">Write the opening of the lighthouse chapter.</textarea></label>
          <label>Bearer token (optional, sent as Authorization) <input type="text" id="token" placeholder="eyJ..."></label>
          <button id="generate">Generate</button>
          <pre id="chapter-text"></pre>
          <div id="save" class="status none">No save status yet.</div>
        </section>

        <section>
          <h2>Chat</h2>
          <div id="log"></div>
          <form id="chat-form"><input type="text" id="chat-input" placeholder="Say something" autocomplete="off"> <button>Send</button></form>
          <pre id="received"></pre>
        </section>

        <section>
          <h2>Failures</h2>
          <p><a href="/slow?ms=3000">/slow</a> waits 3 s before answering. <a href="/boom">/boom</a> leaks a stack trace.</p>
        </section>

        <script>
        const $ = (id) => document.getElementById(id);

        function authHeaders() {
          const headers = { 'Content-Type': 'application/json' };
          const token = $('token').value.trim();
          if (token) headers['Authorization'] = 'Bearer ' + token;
          return headers;
        }

        function showSave(kind, text, retryUrl) {
          const box = $('save');
          box.className = 'status ' + kind;
          box.textContent = text;
          if (retryUrl) {
            const button = document.createElement('button');
            button.textContent = 'Retry save';
            button.style.marginLeft = '1rem';
            button.onclick = async () => {
              const res = await fetch(retryUrl, { method: 'POST', headers: authHeaders() });
              showSave(res.ok ? 'success' : 'failed', 'Retry: HTTP ' + res.status + ' ' + await res.text());
            };
            box.appendChild(button);
          }
        }

        function parseEvent(raw) {
          let event = 'message';
          const data = [];
          for (const line of raw.split('\n')) {
            if (line.startsWith('event:')) event = line.slice(6).trim();
            else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
          }
          return { event, data: data.join('\n') };
        }

        function onEvent({ event, data }) {
          let payload = null;
          try { payload = JSON.parse(data); } catch (e) { /* not JSON */ }
          if (event === 'content_block_delta' && payload && payload.delta) {
            $('chapter-text').textContent += payload.delta.text || '';
          } else if (event === 'save_status' && payload) {
            if (payload.success === true) showSave('success', 'Saved (attempts: ' + payload.attempts + ').');
            else if (payload.success === false) showSave('failed', 'Save failed; kept by Rampart as ' + payload.save_id + '.', payload.retry_url);
            else showSave('pending', 'Save still in progress (pending).');
            return true;
          } else if (event === 'error') {
            showSave('failed', 'Stream error: ' + data);
          }
          return false;
        }

        $('generate').onclick = async () => {
          $('chapter-text').textContent = '';
          showSave('none', 'Streaming...');
          let res;
          try {
            res = await fetch('/api/ai/generate/chapter', {
              method: 'POST', headers: authHeaders(),
              body: JSON.stringify({ chapterId: $('chapter').value, prompt: $('prompt').value }),
            });
          } catch (e) { return showSave('failed', 'Network error: ' + e); }
          if (!res.ok || !res.body) return showSave('failed', 'HTTP ' + res.status + ': ' + await res.text());
          const reader = res.body.getReader();
          const decoder = new TextDecoder();
          let buffer = '', sawSave = false;
          try {
            for (;;) {
              const { value, done } = await reader.read();
              if (done) break;
              buffer = (buffer + decoder.decode(value, { stream: true })).replace(/\r\n/g, '\n');
              let end;
              while ((end = buffer.indexOf('\n\n')) >= 0) {
                if (onEvent(parseEvent(buffer.slice(0, end)))) sawSave = true;
                buffer = buffer.slice(end + 2);
              }
            }
          } catch (e) { return showSave('failed', 'Stream broke: ' + e); }
          if (!sawSave) showSave('none', 'Stream ended without a save_status event (is Rampart in front?).');
        };

        const history = [];
        function addMessage(role, text) {
          const div = document.createElement('div');
          div.className = 'msg ' + role;
          div.textContent = (role === 'user' ? 'You: ' : 'App: ') + text;
          $('log').appendChild(div);
        }

        $('chat-form').onsubmit = async (e) => {
          e.preventDefault();
          const text = $('chat-input').value.trim();
          if (!text) return;
          $('chat-input').value = '';
          history.push({ role: 'user', content: text });
          addMessage('user', text);
          const res = await fetch('/api/ai/chat', {
            method: 'POST', headers: authHeaders(),
            body: JSON.stringify({ system: 'You are a helpful writing assistant.', messages: history }),
          });
          const body = await res.text();
          let json = null;
          try { json = JSON.parse(body); } catch (err) { /* error page */ }
          if (!res.ok || !json || !json.received) {
            $('received').textContent = 'HTTP ' + res.status + ': ' + body;
            return;
          }
          history.push({ role: 'assistant', content: json.reply });
          addMessage('assistant', json.reply);
          const r = json.received;
          const dropped = history.length - 1 - r.messages;
          $('received').textContent = 'App received ' + r.messages + ' of ' + (history.length - 1) + ' messages, ' +
            r.bytes + ' bytes, system prompt ' + (r.system ? 'kept' : 'missing') +
            (dropped > 0 ? ' (' + dropped + ' dropped by truncation; X-Rampart-Truncated: ' +
              (res.headers.get('X-Rampart-Truncated') || '?') + ')' : '') + '.';
        };
        </script>
        </body>
        </html>

        """#
}
