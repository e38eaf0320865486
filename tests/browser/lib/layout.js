// Checks every page of the console must pass, at any size: axe-core finds no
// accessibility violation, and the page is no wider than the viewport (nothing makes
// the whole page scroll sideways; wide tables scroll inside their own box). Screenshots
// go to one directory, printed once.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const { artifactDir } = require('./federation');

let AxeBuilder = null;
function axeBuilder(page) {
  if (AxeBuilder === null) {
    try {
      ({ AxeBuilder } = require('@axe-core/playwright'));
    } catch (e) {
      throw new Error('@axe-core/playwright is not installed: run `npm ci` in tests/browser (./aifed.sh test does)');
    }
  }
  return new AxeBuilder({ page });
}

// The screenshots' directory: <CTest binary dir>/artifacts (tests/browser/artifacts in
// the build tree), made on first use.
const screenshotDir = path.join(artifactDir, 'artifacts');
let announced = false;
function screenshotPath(name) {
  fs.mkdirSync(screenshotDir, { recursive: true });
  if (!announced) {
    console.log(`  screenshots: ${screenshotDir}`);
    announced = true;
  }
  return path.join(screenshotDir, `${name}.png`);
}

// axe-core's violations on the page as it is now, one line each; [] when there is none.
// Runs every rule axe runs by default (WCAG 2.x A and AA, best practices).
// `tolerate`: rule ids not counted (each one found is printed as TOLERATED).
async function axeViolations(page, tolerate = []) {
  const result = await axeBuilder(page).analyze();
  for (const v of result.violations) {
    if (tolerate.includes(v.id)) console.log(`      TOLERATED axe ${v.id}: ${v.help}`);
  }
  return result.violations.filter((v) => !tolerate.includes(v.id)).map((v) => `[${v.impact}] ${v.id}: ${v.help}\n      ` +
    v.nodes.slice(0, 5).map((n) => `${n.target.join(' ')}: ${(n.failureSummary || '').replace(/\s+/g, ' ')}`).join('\n      '));
}

// What sticks out past the viewport's right edge: the widest elements, for the message.
// Elements inside a box that scrolls or clips sideways are left out: they are that box's
// business, not the page's.
async function widthReport(page) {
  return page.evaluate(() => {
    const vw = document.documentElement.clientWidth;
    const contained = (el) => {
      for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
        if (getComputedStyle(a).overflowX !== 'visible') return true;
      }
      return false;
    };
    const out = [];
    for (const el of document.querySelectorAll('body *')) {
      const r = el.getBoundingClientRect();
      if (r.right > vw + 0.5 && r.width > 0 && !contained(el)) {
        const id = el.id ? `#${el.id}` : '';
        const cls = typeof el.className === 'string' && el.className ? `.${el.className.split(' ').join('.')}` : '';
        out.push({ what: `${el.tagName.toLowerCase()}${id}${cls}`, right: Math.round(r.right) });
      }
    }
    out.sort((a, b) => b.right - a.right);
    return out.slice(0, 8).map((o) => `${o.what} ends at ${o.right}px`).join('; ') || '(nothing outside a scrolling box)';
  });
}

// Runs both checks on the page and saves `<name>.png` (the full page). Throws naming
// each problem.
async function checkPage(page, name, maxWidth, tolerate = []) {
  const problems = [];
  const width = await page.evaluate(() => document.scrollingElement.scrollWidth);
  if (width > maxWidth) {
    problems.push(`the page is ${width}px wide at a ${maxWidth}px viewport: ${await widthReport(page)}`);
  }
  const violations = await axeViolations(page, tolerate);
  if (violations.length) problems.push(`axe-core: ${violations.length} violation(s):\n    ${violations.join('\n    ')}`);
  await page.screenshot({ path: screenshotPath(name), fullPage: true });
  if (problems.length) throw new Error(`${name}: ${problems.join('\n  ')}`);
  return width;
}

module.exports = { checkPage, axeViolations, screenshotDir };
