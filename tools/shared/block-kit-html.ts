/**
 * A small Block Kit → HTML preview, close enough to Slack's desktop client to judge an alert by
 * eye (screenshots in the README): header, section text and fields, context, actions with link
 * buttons, and the mrkdwn our templates use — *bold*, _italic_, `code`, <@U…> mentions,
 * <!date^…|fallback> dates and <url|label> links. Anything else is shown as the literal text
 * Slack would show. Not a Slack emulator: nothing here decides what is safe to send.
 */

export interface PreviewOptions {
  /** Display names for <@U…> mentions, as Slack would resolve them from its directory. */
  names?: Record<string, string>;
  /** Formats a <!date^…> token; default: the token's fallback text. */
  date?: (seconds: number, fallback: string) => string;
  appName?: string;
  postedAt?: string;
}

type Block = { type: string; text?: { type: string; text: string }; fields?: { type: string; text: string }[]; elements?: Record<string, unknown>[] };

const escapeHtml = (value: string) => value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** mrkdwn (already &amp;/&lt;/&gt;-escaped, as Slack requires) → HTML. */
export function mrkdwnToHtml(text: string, options: PreviewOptions = {}): string {
  // Code spans first: nothing inside them is formatting.
  return text
    .split(/(`[^`\n]*`)/)
    .map((piece) => {
      if (piece.startsWith('`') && piece.endsWith('`') && piece.length >= 2) return `<code>${piece.slice(1, -1).replace(/"/g, '&quot;')}</code>`;
      return inline(piece, options);
    })
    .join('')
    .replace(/\n/g, '<br>');
}

function inline(text: string, options: PreviewOptions): string {
  const withTokens = text.replace(/"/g, '&quot;').replace(/<([^<>]*)>/g, (_m, token: string) => {
    if (token.startsWith('@')) return `<span class="mention">@${escapeHtml(options.names?.[token.slice(1)] ?? token.slice(1))}</span>`;
    const date = /^!date\^(\d+)\^[^|]*\|(.*)$/.exec(token);
    if (date) return `<span class="date">${escapeHtml((options.date ?? ((_s, f) => f))(Number(date[1]), decodeEntities(date[2])))}</span>`;
    const link = /^(https:\/\/[^|]+|mailto:[^|]+)\|(.*)$/.exec(token);
    if (link) return `<a href="${escapeHtml(link[1])}">${link[2]}</a>`;
    return `&lt;${token}&gt;`;
  });
  return withTokens
    .replace(/(^|[\s(])\*([^*\n]+)\*(?=$|[\s).,:;!?])/g, '$1<b>$2</b>')
    .replace(/(^|[\s(])_([^_\n]+)_(?=$|[\s).,:;!?])/g, '$1<i>$2</i>');
}

function decodeEntities(text: string): string {
  return text.replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

function textObject(object: { type: string; text: string } | undefined, options: PreviewOptions): string {
  if (!object) return '';
  return object.type === 'plain_text' ? escapeHtml(object.text) : mrkdwnToHtml(object.text, options);
}

export function blocksToHtml(message: { text: string; blocks: unknown[] }, options: PreviewOptions = {}): string {
  const body = (message.blocks as Block[])
    .map((block) => {
      switch (block.type) {
        case 'header':
          return `<div class="header">${textObject(block.text, options)}</div>`;
        case 'section': {
          const text = block.text ? `<div class="section">${textObject(block.text, options)}</div>` : '';
          const fields = block.fields?.length ? `<div class="fields">${block.fields.map((f) => `<div>${textObject(f, options)}</div>`).join('')}</div>` : '';
          return text + fields;
        }
        case 'context':
          return `<div class="context">${(block.elements ?? []).map((e) => `<span>${textObject(e as { type: string; text: string }, options)}</span>`).join('')}</div>`;
        case 'actions':
          return `<div class="actions">${(block.elements ?? [])
            .map((e) => `<a class="button" href="${escapeHtml(String(e.url ?? '#'))}">${textObject(e.text as { type: string; text: string }, options)}</a>`)
            .join('')}</div>`;
        case 'divider':
          return '<hr>';
        default:
          return `<div class="unknown">[${escapeHtml(block.type)} block]</div>`;
      }
    })
    .join('\n');
  return [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">',
    '<title>Slack message preview</title>',
    '<style>',
    'body { margin:0; background:#fff; font-family:-apple-system,BlinkMacSystemFont,"Segoe UI",Helvetica,Arial,sans-serif; font-size:15px; line-height:22px; color:#1d1c1d; }',
    '.message { display:flex; gap:8px; padding:12px 20px; max-width:760px; }',
    '.avatar { flex:none; width:36px; height:36px; border-radius:6px; background:#4a154b; color:#fff; font-weight:700; display:flex; align-items:center; justify-content:center; }',
    '.meta b { font-weight:900; } .meta .app { font-size:10px; background:#e8e8e8; color:#616061; padding:1px 3px; border-radius:2px; margin:0 4px; font-weight:700; } .meta .time { color:#616061; font-size:12px; }',
    '.header { font-size:18px; line-height:26px; font-weight:900; margin:6px 0 4px; }',
    '.section { margin:4px 0; } .fields { display:grid; grid-template-columns:1fr 1fr; gap:8px 16px; margin:8px 0; }',
    '.context { color:#616061; font-size:13px; line-height:18px; margin:8px 0; } .context > span { margin-right:10px; }',
    'code { font-family:Monaco,Menlo,Consolas,monospace; font-size:12px; color:#c01343; background:#f8f8f8; border:1px solid #e0e0e0; border-radius:3px; padding:1px 3px; overflow-wrap:anywhere; }',
    '.mention { color:#1264a3; background:#e8f5fa; border-radius:3px; padding:0 2px; } .date { text-decoration:none; } a { color:#1264a3; }',
    '.actions { margin:8px 0; display:flex; gap:8px; flex-wrap:wrap; } .button { border:1px solid #bbb; border-radius:4px; padding:4px 12px; font-size:13px; font-weight:700; color:#1d1c1d; text-decoration:none; }',
    '</style></head><body>',
    `<div class="message"><div class="avatar">SR</div><div class="content"><div class="meta"><b>${escapeHtml(options.appName ?? 'Slack Anomaly Responder')}</b><span class="app">APP</span><span class="time">${escapeHtml(options.postedAt ?? '')}</span></div>`,
    body,
    '</div></div></body></html>',
    '',
  ].join('\n');
}
