"""Build the embedded THINGS-emoji image set (data/things_emoji/) from open-licensed emoji.

Run by hand from the repository root (network access to the npm registry needed once):

    .venv/bin/python data/build_things_emoji.py            # default cache: ~/.cache/dnnalign/npm

Options: ``--cache DIR`` (where the npm tarballs are packed and unpacked), ``--out DIR``
(default data/things_emoji). Needs `npm` on PATH and libcairo2 for cairosvg
(``apt-get install -y libcairo2`` if ``import cairosvg`` fails).

What it does, deterministically:

1. ``npm pack <pkg>@<pinned version>`` for every source below into the cache and unpacks it.
2. Matches emoji to THINGS concepts (metadata in data/things/metadata or
   ``--things-metadata``): the emoji's CLDR name (emojibase-data) equal to the THINGS word
   ("exact") or to one of its WordNet synonyms ("wordnet_synonym"), plus a curated list of
   emoji -> concept pairs with reasons ("curated"). Automatic matches to a THINGS word with
   several senses (bat1/bat2, mouse1/mouse2, ...) are never taken; the curated list chooses
   the sense. Wrong automatic matches are listed in ``REJECT`` with a reason. Every
   candidate, accepted or rejected, lands in ``matches.csv`` with its rule and reason. No
   emoji source carries WordNet IDs, so no WordNet-ID rule exists.
3. Renders each matched emoji in every style that has it: SVGs rasterised with cairosvg at
   512 px; cropped to the alpha bounding box (alpha >= 8), centred on
   a transparent square, resized (premultiplied alpha, Lanczos) to 224 x 224 and saved as
   a 256-colour palette PNG with alpha (alpha = object mask; quantisation keeps the folder
   under 40 MB at a mean error below 2/255). Background, margin and network size are chosen at load
   time by ``dnnalign_utils.images.render_image``.
4. Keeps concepts with at least ``MIN_STYLES`` styles and writes ``manifest.csv``
   (uniqueID, style, file, source package/version, licence, SHA-256), ``matches.csv``,
   ``LICENSES/`` (licence and attribution texts) and ``build_info.json`` (tool versions).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import multiprocessing
import re
import shutil
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

import cairocffi
import cairosvg
import numpy as np
import PIL
from PIL import Image

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_METADATA = REPO_ROOT / "data" / "things" / "metadata"
IMAGE_SIZE = 224
SVG_RENDER_SIZE = 512
ALPHA_THRESHOLD = 8
MIN_STYLES = 3

# Emoji names, keywords and code points (CLDR via emojibase), MIT.
METADATA_PACKAGE = ("emojibase-data", "17.0.0")
# Full licence texts by SPDX identifier, CC0-1.0.
LICENCE_TEXTS_PACKAGE = ("spdx-license-list", "6.12.0")


@dataclass(frozen=True)
class Style:
    name: str
    package: str
    version: str
    kind: str  # "iconify": an icons.json of SVG bodies
    licence: str  # SPDX
    attribution: str
    names_from: str | None = None  # iconify set whose chars.json maps code points to names


STYLES = (
    Style(
        "noto",
        "@iconify-json/noto",
        "1.2.9",
        "iconify",
        "Apache-2.0",
        "Noto Emoji, Copyright Google Inc., Apache License 2.0 "
        "(https://github.com/googlefonts/noto-emoji)",
    ),
    Style(
        "noto-v1",
        "@iconify-json/noto-v1",
        "1.2.5",
        "iconify",
        "Apache-2.0",
        "Noto Emoji v1 (older Noto artwork), Copyright Google Inc., Apache License 2.0 "
        "(https://github.com/googlefonts/noto-emoji)",
        names_from="noto",
    ),
    Style(
        "twemoji",
        "@iconify-json/twemoji",
        "1.2.5",
        "iconify",
        "CC-BY-4.0",
        "Twemoji, Copyright Twitter, Inc and other contributors, graphics licensed under "
        "CC-BY 4.0 (https://github.com/jdecked/twemoji)",
    ),
    Style(
        "openmoji",
        "@iconify-json/openmoji",
        "1.2.29",
        "iconify",
        "CC-BY-SA-4.0",
        "OpenMoji, the open-source emoji and icon project, HfG Schwäbisch Gmünd, "
        "CC BY-SA 4.0 (https://openmoji.org); our PNG renderings are shared under CC BY-SA 4.0",
    ),
    Style(
        "fluent-color",
        "@iconify-json/fluent-emoji",
        "1.2.7",
        "iconify",
        "MIT",
        "Fluent Emoji (Color), Copyright (c) Microsoft Corporation, MIT License "
        "(https://github.com/microsoft/fluentui-emoji)",
        names_from="fluent-flat",
    ),
    Style(
        "fluent-flat",
        "@iconify-json/fluent-emoji-flat",
        "1.2.6",
        "iconify",
        "MIT",
        "Fluent Emoji (Flat), Copyright (c) Microsoft Corporation, MIT License "
        "(https://github.com/microsoft/fluentui-emoji)",
    ),
    Style(
        "emojione",
        "@iconify-json/emojione",
        "1.2.3",
        "iconify",
        "CC-BY-4.0",
        "Emoji One (EmojiTwo artwork), CC BY 4.0 (https://github.com/EmojiTwo/emojitwo)",
        names_from="noto",
    ),
)

# Curated emoji -> concept pairs: (CLDR name, THINGS uniqueID, reason).
CURATED = (
    ("bat", "bat1", "emoji is the animal (bat1), not the club (bat2)"),
    ("mouse", "mouse1", "emoji is the rodent (mouse1); the computer mouse has its own emoji"),
    ("chicken", "chicken2", "emoji is the live fowl (chicken2), not the meat (chicken1)"),
    ("camera", "camera1", "emoji is a photographic camera (camera1), not a TV camera"),
    ("hook", "hook2", "emoji is a curved hook implement (hook2), not a door catch (hook1)"),
    ("bow and arrow", "bow2", "bow the weapon (bow2)"),
    ("ribbon", "bow3", "the emoji is a ribbon tied in a decorative bow (bow3)"),
    ("spiral shell", "shell2", "a seashell: the hard outer covering of an animal (shell2)"),
    ("hot pepper", "pepper2", "a Capsicum fruit (pepper2), not peppercorn or chili con carne"),
    ("bug", "caterpillar", "the 'bug' emoji draws a caterpillar"),
    ("ice", "ice_cube", "the 'ice' emoji draws an ice cube"),
    ("wood", "log", "the 'wood' emoji draws a log"),
    ("baby chick", "chick", "young bird of domestic fowl"),
    ("honeybee", "bee", "bee"),
    ("ewe", "sheep", "a (female) sheep"),
    ("cheese wedge", "cheese", "cheese"),
    ("ear of corn", "corn", "maize"),
    ("grapes", "grape", "grapes"),
    ("red apple", "apple", "apple"),
    ("cherries", "cherry", "cherries"),
    ("tangerine", "orange", "citrus fruit drawn as an orange"),
    ("peanuts", "peanut", "peanuts"),
    ("beans", "bean", "beans"),
    ("ginger root", "ginger", "ginger root"),
    ("pea pod", "pea", "pea pod"),
    ("roasted sweet potato", "sweet_potato", "sweet potato"),
    ("jack-o-lantern", "pumpkin", "a carved pumpkin"),
    ("meat on bone", "meat", "meat"),
    ("cut of meat", "steak", "a slice of meat"),
    ("green salad", "salad", "salad"),
    ("cooked rice", "rice", "a bowl of rice"),
    ("curry rice", "curry", "curry with rice"),
    ("soft ice cream", "ice-cream_cone", "soft ice cream in a cone"),
    ("shortcake", "cake", "a slice of cake"),
    ("chocolate bar", "candy_bar", "chocolate bar"),
    ("honey pot", "honeypot", "honey pot"),
    ("glass of milk", "milk", "milk"),
    ("hot beverage", "coffee", "a cup of coffee"),
    ("bottle with popping cork", "champagne", "a champagne bottle"),
    ("wine glass", "wineglass", "wine glass"),
    ("cocktail glass", "cocktail", "a cocktail"),
    ("beer mug", "beer", "beer"),
    ("tumbler glass", "glass", "a drinking glass"),
    ("kitchen knife", "knife", "knife"),
    ("salt", "saltshaker", "the 'salt' emoji draws a salt shaker"),
    ("pancakes", "pancake", "pancakes"),
    ("evergreen tree", "pine_tree", "a coniferous tree"),
    ("deciduous tree", "tree", "a tree"),
    ("maple leaf", "leaf", "a leaf"),
    ("four leaf clover", "clover", "clover"),
    ("world map", "map", "map"),
    ("kick scooter", "scooter", "child's two-wheeled scooter operated by foot"),
    ("manual wheelchair", "wheelchair", "wheelchair"),
    ("delivery truck", "truck", "truck"),
    ("stop sign", "road_sign", "a road sign"),
    ("vertical traffic light", "traffic_light", "traffic light"),
    ("passenger ship", "cruise_ship", "cruise ship"),
    ("motor boat", "boat", "boat"),
    ("ring buoy", "lifesaver", "life buoy"),
    ("alarm clock", "clock", "clock"),
    ("timer clock", "timer", "timer"),
    ("hourglass done", "hourglass", "hourglass"),
    ("wrapped gift", "gift", "a wrapped present"),
    ("sports medal", "medal", "medal"),
    ("american football", "football", "the ball of American football"),
    ("tennis", "tennis_ball", "the 'tennis' emoji draws a tennis ball"),
    ("flying disc", "frisbee", "frisbee"),
    ("bowling", "bowling_ball", "the 'bowling' emoji draws ball and pins"),
    ("ice hockey", "hockey_stick", "hockey stick and puck"),
    ("diving mask", "snorkel", "diving mask with snorkel"),
    ("skis", "ski", "skis"),
    ("bullseye", "dartboard", "a dart in a dartboard"),
    ("magic wand", "wand", "magician's wand"),
    ("game die", "dice", "die"),
    ("puzzle piece", "jigsaw_puzzle", "jigsaw puzzle piece"),
    ("artist palette", "palette", "artist's palette"),
    ("sewing needle", "needle", "a needle"),
    ("joker", "playing_card", "a playing card"),
    ("man's shoe", "shoe", "shoe"),
    ("hiking boot", "boot", "boot"),
    ("high-heeled shoe", "stiletto", "high-heeled shoe"),
    ("woman's sandal", "sandal", "sandal"),
    ("thong sandal", "flip_flop", "flip-flop"),
    ("socks", "sock", "socks"),
    ("gloves", "glove", "gloves"),
    ("one-piece swimsuit", "swimsuit", "swimsuit"),
    ("military helmet", "helmet", "helmet"),
    ("woman's hat", "hat", "hat"),
    ("gem stone", "gem", "gemstone"),
    ("hand with fingers splayed", "hand", "hand"),
    ("footprints", "footprint", "footprints"),
    ("closed book", "book", "book"),
    ("film frames", "film", "film strip"),
    ("film projector", "projector", "projector"),
    ("video camera", "camcorder", "camcorder"),
    ("desktop computer", "computer", "desktop computer"),
    ("electric plug", "plug", "electrical plug"),
    ("magnifying glass tilted left", "magnifying_glass", "magnifying glass"),
    ("red paper lantern", "lantern", "a (paper) lantern"),
    ("label", "tag", "a label tag"),
    ("dollar banknote", "money", "banknote"),
    ("package", "box", "a cardboard box"),
    ("closed mailbox with raised flag", "mailbox", "private mailbox"),
    ("ballot box with ballot", "ballot_box", "ballot box"),
    ("file folder", "folder", "folder"),
    ("spiral notepad", "notepad", "notepad"),
    ("straight ruler", "ruler", "ruler"),
    ("wastebasket", "trashcan", "waste bin"),
    ("locked", "padlock", "a closed padlock"),
    ("carpentry saw", "saw", "hand saw"),
    ("crossed swords", "sword", "swords"),
    ("balance scale", "scale", "a weighing instrument"),
    ("white cane", "cane", "walking cane"),
    ("chains", "chain", "chain"),
    ("satellite antenna", "satellite_dish", "satellite dish"),
    ("adhesive bandage", "bandage", "adhesive bandage"),
    ("mouse trap", "mousetrap", "mousetrap"),
    ("roll of paper", "toilet_paper", "toilet paper roll"),
    ("bubbles", "bubble", "bubbles"),
    ("funeral urn", "urn", "urn"),
)

# Automatic matches that name the wrong thing: CLDR name -> reason.
REJECT = {
    "bank": "the emoji is a bank building; THINGS 'bank' is a coin bank (money box)",
    "ticket": "an admission ticket, not a label tag ('tag, ticket')",
    "sewing needle": "'darning needle' is a synonym of dragonfly; the emoji is a needle",
    "wireless": "a wireless-signal symbol, not a radio",
    "bug": "the emoji draws a caterpillar (curated to caterpillar)",
    "ice": "the emoji draws an ice cube (curated to ice_cube)",
    "wood": "the emoji draws a log (curated to log)",
    "ribbon": "the emoji draws a bow of ribbon (curated to bow3)",
    "wing": "THINGS 'wing' is an aircraft wing; the emoji is a bird's wing",
}

# Emoji groups searched (emojibase): 0 smileys, 1 people & body, 3 animals & nature,
# 4 food & drink, 5 travel & places, 6 activities, 7 objects, 8 symbols.
SEARCHED_GROUPS = {0, 1, 3, 4, 5, 6, 7, 8}


def norm(text: str) -> str:
    text = text.lower().replace("’", "'").replace("_", " ").replace("-", " ")
    return re.sub(r"\s+", " ", text).strip()


def npm_fetch(package: str, version: str, cache: Path) -> Path:
    """`npm pack` a pinned package into the cache and unpack it; return its folder."""
    safe = package.replace("@", "").replace("/", "-")
    target = cache / f"{safe}-{version}"
    if (target / "package" / "package.json").exists():
        return target / "package"
    cache.mkdir(parents=True, exist_ok=True)
    out = subprocess.run(
        ["npm", "pack", f"{package}@{version}", "--json", "--pack-destination", str(cache)],
        check=True,
        capture_output=True,
        text=True,
    )
    filename = json.loads(out.stdout)[0]["filename"]
    tmp = target.with_name(target.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    with tarfile.open(cache / filename) as tar:
        tar.extractall(tmp, filter="data")
    tmp.rename(target)
    return target / "package"


def read_things(metadata: Path) -> list[dict]:
    rows = []
    with open(metadata / "things_concepts.tsv", encoding="utf-8") as handle:
        for i, row in enumerate(csv.DictReader(handle, delimiter="\t")):
            rows.append(
                {
                    "index": i,
                    "uniqueID": row["uniqueID"],
                    "word": row["Word"],
                    "synonyms": [s.strip() for s in row["WordNet Synonyms"].split(",")],
                    "wnid": row["WordNet ID"],
                    "definition": row["Definition (from WordNet, Google, or Wikipedia)"],
                }
            )
    order = (metadata / "unique_id.txt").read_text(encoding="utf-8").split()
    if [r["uniqueID"] for r in rows] != order:
        raise ValueError(f"{metadata}: things_concepts.tsv is not in unique_id.txt order")
    return rows


def match_concepts(emoji: list[dict], things: list[dict]) -> list[dict]:
    """All candidate (emoji, concept) pairs with rule, status and reason."""
    by_label = {}
    for e in emoji:
        by_label.setdefault(norm(e["label"]), e)
    concept = {r["uniqueID"]: r for r in things}
    word_index: dict[str, list[str]] = {}
    syn_index: dict[str, list[str]] = {}
    for r in things:
        word_index.setdefault(norm(r["word"]), []).append(r["uniqueID"])
        for s in r["synonyms"]:
            syn_index.setdefault(norm(s), []).append(r["uniqueID"])

    candidates = []
    for label, uid, reason in CURATED:
        if norm(label) not in by_label:
            raise ValueError(f"CURATED: no emoji named {label!r} in {METADATA_PACKAGE}")
        if uid not in concept:
            raise ValueError(f"CURATED: {uid!r} is not a THINGS uniqueID")
        candidates.append((by_label[norm(label)], uid, "curated", reason))
    for e in emoji:
        label = norm(e["label"])
        for rule, index in (("exact", word_index), ("wordnet_synonym", syn_index)):
            uids = sorted(set(index.get(label, [])))
            if not uids:
                continue
            if len(uids) > 1:
                for uid in uids:
                    candidates.append((e, uid, rule, "ambiguous: several THINGS senses"))
            else:
                candidates.append((e, uids[0], rule, f"CLDR name equals THINGS {rule}"))
            break

    rows, taken_concepts, taken_emoji = [], set(), set()
    for e, uid, rule, reason in candidates:
        label = norm(e["label"])
        status = "accepted"
        if rule != "curated" and reason.startswith("ambiguous"):
            status = "rejected"
        elif rule != "curated" and label in REJECT:
            status, reason = "rejected", REJECT[label]
        elif uid in taken_concepts:
            status, reason = "rejected", "concept already matched by a higher-priority rule"
        elif e["hexcode"] in taken_emoji and rule != "curated":
            status, reason = "rejected", "emoji already matched by a curated rule"
        if status == "accepted":
            taken_concepts.add(uid)
            taken_emoji.add(e["hexcode"])
        c = concept[uid]
        rows.append(
            {
                "uniqueID": uid,
                "things_word": c["word"],
                "things_wordnet_id": c["wnid"],
                "things_definition": c["definition"],
                "emoji_name": e["label"],
                "codepoint": e["hexcode"],
                "emoji": e["emoji"],
                "rule": rule,
                "status": status,
                "reason": reason,
            }
        )
    return rows


def load_iconify(folder: Path) -> dict:
    icons = json.loads((folder / "icons.json").read_text(encoding="utf-8"))
    chars_path = folder / "chars.json"
    chars = json.loads(chars_path.read_text(encoding="utf-8")) if chars_path.exists() else {}
    return {"icons": icons, "chars": chars}


def hex_variants(hexcode: str) -> list[str]:
    parts = hexcode.lower().split("-")
    plain = [p for p in parts if p != "fe0f"]
    out = ["-".join(parts), "-".join(plain), "-".join(plain + ["fe0f"])]
    return list(dict.fromkeys(out))


def iconify_name(icon_set: dict, name_set: dict, e: dict) -> str | None:
    for h in hex_variants(e["hexcode"]):
        if h in name_set["chars"]:
            name = name_set["chars"][h]
            break
    else:
        name = re.sub(r"[^a-z0-9]+", "-", norm(e["label"]).replace("'", "")).strip("-")
    icons = icon_set["icons"]
    if name in icons["icons"]:
        return name
    alias = icons.get("aliases", {}).get(name)
    if alias and set(alias) == {"parent"} and alias["parent"] in icons["icons"]:
        return alias["parent"]
    return None


def iconify_svg(icon_set: dict, name: str) -> bytes:
    icons = icon_set["icons"]
    icon = icons["icons"][name]
    left, top = icon.get("left", icons.get("left", 0)), icon.get("top", icons.get("top", 0))
    width = icon.get("width", icons.get("width", 16))
    height = icon.get("height", icons.get("height", 16))
    if icon.get("rotate") or icon.get("hFlip") or icon.get("vFlip"):
        raise ValueError(f"{name}: transformed iconify icons are not supported")
    side = max(width, height)  # square viewBox, drawing centred
    vb = f"{left - (side - width) / 2} {top - (side - height) / 2} {side} {side}"
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
        f'viewBox="{vb}" width="{SVG_RENDER_SIZE}" height="{SVG_RENDER_SIZE}">'
        f"{icon['body']}</svg>"
    ).encode()


def fit_square(image: Image.Image) -> Image.Image:
    """Crop to the object's alpha box, centre on a transparent square, resize."""
    image = image.convert("RGBA")
    alpha = np.asarray(image.getchannel("A"))
    ys, xs = np.nonzero(alpha >= ALPHA_THRESHOLD)
    if ys.size == 0:
        raise ValueError("empty image")
    box = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)
    obj = image.crop(box)
    side = max(obj.size)
    canvas = Image.new("RGBA", (side, side), (0, 0, 0, 0))
    canvas.paste(obj, ((side - obj.size[0]) // 2, (side - obj.size[1]) // 2))
    resized = canvas.convert("RGBa").resize((IMAGE_SIZE, IMAGE_SIZE), Image.Resampling.LANCZOS)
    return resized.convert("RGBA")


def png_bytes(image: Image.Image) -> bytes:
    """RGBA -> 256-colour palette PNG with alpha (about 4x smaller, mean error < 2/255)."""
    palette = image.quantize(256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
    buffer = io.BytesIO()
    palette.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


_WORK: dict = {}


def render_styles(e: dict) -> tuple[dict[str, tuple[str, bytes]], list[str]]:
    """Every style's PNG of one emoji (style -> (source icon, bytes)) and render failures."""
    rendered, failures = {}, []
    for s in STYLES:
        icon_sets = _WORK["icon_sets"]
        name = iconify_name(icon_sets[s.name], icon_sets[s.names_from or s.name], e)
        if name is None:
            continue
        svg = iconify_svg(icon_sets[s.name], name)
        try:
            raw = Image.open(io.BytesIO(cairosvg.svg2png(bytestring=svg)))
        except (MemoryError, ValueError, cairocffi.CairoError) as error:
            failures.append(f"{s.name}/{name}: {type(error).__name__}: {error}")
            continue
        rendered[s.name] = (name, png_bytes(fit_square(raw)))
    return rendered, failures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache/dnnalign/npm")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "data" / "things_emoji")
    parser.add_argument("--things-metadata", type=Path, default=DEFAULT_METADATA)
    parser.add_argument("--jobs", type=int, default=2, help="rendering processes")
    parser.add_argument(
        "--recognition-sweep",
        action="store_true",
        help="do not build; score EfficientNet-Lite0 top-5 per style for several renderings "
        "of the built set and write recognition.csv",
    )
    args = parser.parse_args(argv)
    if args.recognition_sweep:
        recognition_sweep(args.out)
        return

    things = read_things(args.things_metadata)
    meta_dir = npm_fetch(*METADATA_PACKAGE, args.cache)
    emoji_all = json.loads((meta_dir / "en" / "data.json").read_text(encoding="utf-8"))
    emoji = sorted(
        (e for e in emoji_all if e.get("group") in SEARCHED_GROUPS), key=lambda e: e["order"]
    )
    matches = match_concepts(emoji, things)
    accepted = [m for m in matches if m["status"] == "accepted"]
    by_hex = {e["hexcode"]: e for e in emoji}

    folders = {s.name: npm_fetch(s.package, s.version, args.cache) for s in STYLES}
    icon_sets = {s.name: load_iconify(folders[s.name]) for s in STYLES if s.kind == "iconify"}

    out = args.out
    tmp_out = out.with_name(out.name + ".building")
    shutil.rmtree(tmp_out, ignore_errors=True)
    (tmp_out / "images").mkdir(parents=True)
    (tmp_out / "LICENSES").mkdir()

    order = {r["uniqueID"]: r["index"] for r in things}
    _WORK["icon_sets"] = icon_sets
    todo = sorted(accepted, key=lambda m: order[m["uniqueID"]])
    with multiprocessing.get_context("fork").Pool(args.jobs) as pool:
        rendered_all = pool.map(render_styles, [by_hex[m["codepoint"]] for m in todo], 4)
    results = {m["uniqueID"]: r for m, r in zip(todo, rendered_all, strict=True)}
    manifest, coverage, failures = [], {}, []
    for m in todo:
        rendered, failed = results[m["uniqueID"]]
        failures.extend(failed)
        coverage[m["uniqueID"]] = sorted(rendered)
        if len(rendered) < MIN_STYLES:
            m["status"], m["reason"] = "rejected", f"only {len(rendered)} styles (< {MIN_STYLES})"
            continue
        for s in STYLES:
            if s.name not in rendered:
                continue
            icon_name, data = rendered[s.name]
            rel = f"images/{m['uniqueID']}/{s.name}.png"
            (tmp_out / rel).parent.mkdir(parents=True, exist_ok=True)
            (tmp_out / rel).write_bytes(data)
            manifest.append(
                {
                    "uniqueID": m["uniqueID"],
                    "style": s.name,
                    "file": rel,
                    "codepoint": m["codepoint"],
                    "source_icon": icon_name,
                    "source_package": s.package,
                    "source_version": s.version,
                    "licence": s.licence,
                    "sha256": hashlib.sha256(data).hexdigest(),
                }
            )

    def write_csv(path: Path, rows: list[dict]) -> None:
        with open(path, "w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)

    write_csv(tmp_out / "manifest.csv", manifest)
    spdx_dir = npm_fetch(*LICENCE_TEXTS_PACKAGE, args.cache)
    write_csv(tmp_out / "matches.csv", matches)
    for s in STYLES + (
        Style("emojibase", METADATA_PACKAGE[0], METADATA_PACKAGE[1], "", "MIT", ""),
    ):
        folder = folders.get(s.name) or meta_dir
        texts = [f"{s.package}@{s.version} ({s.licence})\n{s.attribution}\n"]
        for lic in sorted(folder.glob("LICEN[CS]E*")):
            texts.append(
                f"\n--- {lic.name} from the npm package ---\n{lic.read_text(encoding='utf-8')}"
            )
        spdx = json.loads((spdx_dir / "licenses" / f"{s.licence}.json").read_text("utf-8"))
        texts.append(f"\n--- {s.licence} full text (SPDX) ---\n{spdx['licenseText']}\n")
        info = folder / "info.json"
        if info.exists():
            texts.append(
                f"\n--- info.json from the npm package ---\n{info.read_text(encoding='utf-8')}"
            )
        (tmp_out / "LICENSES" / f"{s.name}.txt").write_text("".join(texts), encoding="utf-8")
    build_info = {
        "command": "python data/build_things_emoji.py",
        "image_size": IMAGE_SIZE,
        "svg_render_size": SVG_RENDER_SIZE,
        "alpha_threshold": ALPHA_THRESHOLD,
        "min_styles": MIN_STYLES,
        "metadata_package": f"{METADATA_PACKAGE[0]}@{METADATA_PACKAGE[1]}",
        "licence_texts_package": f"{LICENCE_TEXTS_PACKAGE[0]}@{LICENCE_TEXTS_PACKAGE[1]}",
        "styles": [
            {"style": s.name, "package": s.package, "version": s.version, "licence": s.licence}
            for s in STYLES
        ],
        "tools": {
            "python": sys.version.split()[0],
            "pillow": PIL.__version__,
            "cairosvg": cairosvg.__version__,
            "cairo": cairocffi.cairo_version_string(),
            "numpy": np.__version__,
        },
        "render_failures": failures,
        "n_concepts": len({r["uniqueID"] for r in manifest}),
        "n_images": len(manifest),
    }
    (tmp_out / "build_info.json").write_text(json.dumps(build_info, indent=2) + "\n")
    readme = out / "README.md"
    if readme.exists():
        shutil.copy2(readme, tmp_out / "README.md")
    for extra in ("recognition.csv",):
        if (out / extra).exists():
            shutil.copy2(out / extra, tmp_out / extra)
    shutil.rmtree(out, ignore_errors=True)
    tmp_out.rename(out)
    print(f"{build_info['n_concepts']} concepts, {build_info['n_images']} images -> {out}")


SWEEP_BACKGROUNDS = {"white": (255, 255, 255), "grey": (128, 128, 128), "black": (0, 0, 0)}


def recognition_sweep(out: Path) -> None:
    """EfficientNet-Lite0 top-1/top-5 per style over margins and backgrounds (the network's
    own input recipe throughout)."""
    sys.path.insert(0, str(REPO_ROOT))
    import pandas as pd
    import torch

    from dnnalign_utils import features, images

    torch.manual_seed(0)
    manifest = images.load_manifest(out)
    imagenet = features.imagenet_concept_rows(manifest)
    print(
        f"{imagenet['uniqueID'].nunique()} concepts, {len(imagenet)} images are ImageNet classes"
    )
    settings = {}
    for margin in (0.0, 0.1, 0.2, 0.3):
        settings[f"white m{margin}"] = images.Rendering(margin=margin)
    for name in ("grey", "black"):
        settings[f"{name} m0.2"] = images.Rendering(margin=0.2, background=SWEEP_BACKGROUNDS[name])
    path = out / "recognition.csv"
    done = pd.read_csv(path) if path.exists() else pd.DataFrame(columns=["setting"])
    # resume only rows measured through the network's current input recipe
    recipe = json.dumps(features.EFFICIENTNET_LITE0_RECIPE.as_dict(), sort_keys=True)
    if "recipe" not in done.columns or (done["recipe"] != recipe).any():
        done = pd.DataFrame(columns=["setting"])
    model = features.efficientnet_lite0()
    for label, setting in settings.items():  # resumable: one setting at a time, saved
        if label in set(done["setting"]):
            continue
        part = features.recognition_sweep(manifest, {label: setting}, model=model)
        done = part if done.empty else pd.concat([done, part], ignore_index=True)
        done.to_csv(path.with_suffix(".tmp"), index=False, float_format="%.4f")
        path.with_suffix(".tmp").replace(path)
    wide = done.pivot(index="style", columns="setting", values="top5")
    print(wide[[c for c in settings if c in wide.columns]].round(3).to_markdown())


if __name__ == "__main__":
    main()
