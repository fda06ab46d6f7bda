import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { blocksToHtml, mrkdwnToHtml } from '../../../tools/shared/block-kit-html';
import { NOTIFICATION_TYPES } from '../../../functions/domain/config/schema';
import { renderSamples, SAMPLES } from '../../../tools/cli/screenshots';

describe('Block Kit preview', () => {
  it('renders the mrkdwn the templates use, and nothing inside a code span', () => {
    const html = mrkdwnToHtml('*Review:* <@W07GRACE01> at <!date^1796222577^{date_long_pretty}|2 December> `*not bold* &lt;@U1&gt;` <https://x.example/a|Open>', {
      names: { W07GRACE01: 'Grace Liu' },
    });
    expect(html).toBe(
      '<b>Review:</b> <span class="mention">@Grace Liu</span> at <span class="date">2 December</span> <code>*not bold* &lt;@U1&gt;</code> <a href="https://x.example/a">Open</a>',
    );
  });

  it('shows an unknown block type instead of dropping it', () => {
    expect(blocksToHtml({ text: 'x', blocks: [{ type: 'rich_text' }] })).toContain('[rich_text block]');
  });
});

describe('screenshots samples', () => {
  it('cover every notification type and the protected owner, each as admin email and Slack message', () => {
    expect(new Set(SAMPLES.map((s) => s.job.type))).toEqual(new Set(NOTIFICATION_TYPES));
    expect(SAMPLES.some((s) => s.job.response.outcome === 'dry_run')).toBe(true);
    expect(SAMPLES.some((s) => s.job.response.outcome === 'protected')).toBe(true);
    const names = renderSamples().map((f) => f.name);
    for (const sample of SAMPLES) expect(names).toEqual(expect.arrayContaining([`${sample.kind}.admin-email`, `${sample.kind}.slack`]));
    expect(names).toContain('sessions-ended.person-email.375');
  });
});

describe('README screenshots', () => {
  it('exist for every image the README shows, each at most 150 KiB', () => {
    const root = join(__dirname, '..', '..', '..');
    const images = [...readFileSync(join(root, 'README.md'), 'utf8').matchAll(/!\[[^\]]*\]\((docs\/alerts\/[^)]+\.png)\)/g)].map((m) => m[1]);
    expect(images.length).toBeGreaterThanOrEqual(6);
    for (const image of images) expect({ image, small: statSync(join(root, image)).size <= 150 * 1024 }).toEqual({ image, small: true });
  });
});
