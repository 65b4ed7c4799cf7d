"""Images that learners send: checked by content, cleaned of metadata, described; bad input refused."""

import io

import pytest
from django.test import override_settings
from PIL import Image

from core.images import (
    ImageRefused,
    check_count,
    clean_image,
    clean_images,
    data_url_size,
    describe,
    from_data_url,
    image_size,
    to_data_url,
)
from tests.fixtures.images import image_bytes, png_declaring


@pytest.mark.parametrize(("fmt", "media_type"), [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("WEBP", "image/webp")])
def test_it_accepts_png_jpeg_and_webp_by_their_content(fmt, media_type):
    cleaned = clean_image(image_bytes(fmt))

    assert (cleaned.media_type, cleaned.width, cleaned.height) == (media_type, 64, 48)
    assert Image.open(io.BytesIO(cleaned.data)).format == fmt


def test_it_keeps_only_the_first_frame_of_a_gif_as_a_png():
    frames = [Image.new("RGB", (20, 10), colour) for colour in ((0, 0, 255), (255, 0, 0), (0, 255, 0))]
    output = io.BytesIO()
    frames[0].save(output, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)

    cleaned = clean_image(output.getvalue())

    reread = Image.open(io.BytesIO(cleaned.data))
    assert (cleaned.media_type, reread.format, getattr(reread, "n_frames", 1)) == ("image/png", "PNG", 1)
    assert describe(cleaned.data) == "a 20×10 image, mostly blue"


def test_it_removes_exif_gps_and_keeps_the_orientation():
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: turn 90° clockwise to view
    exif[0x010F] = "PhoneMaker"
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (55.0, 45.0, 21.0), 3: "E", 4: (37.0, 37.0, 4.0)})
    photo = image_bytes("JPEG", size=(40, 20), exif=exif.tobytes())
    assert Image.open(io.BytesIO(photo)).getexif().get_ifd(0x8825)  # the GPS is there before

    cleaned = clean_image(photo)

    reread = Image.open(io.BytesIO(cleaned.data))
    assert not reread.getexif()
    assert b"Exif" not in cleaned.data and b"PhoneMaker" not in cleaned.data
    assert (cleaned.width, cleaned.height) == (20, 40)  # turned as the orientation said


def test_it_removes_png_text_chunks_and_icc_profiles():
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "secret location")
    original = image_bytes("PNG", pnginfo=info, icc_profile=b"fake-icc-profile-bytes")
    assert b"secret location" in original

    cleaned = clean_image(original)

    assert b"secret location" not in cleaned.data and b"fake-icc" not in cleaned.data
    assert not Image.open(io.BytesIO(cleaned.data)).info.get("icc_profile")


def test_it_refuses_a_non_image_with_a_png_name():
    with pytest.raises(ImageRefused) as refused:
        clean_image(b"%PDF-1.7 this is a document called photo.png\n")

    assert refused.value.code == "not_an_image"
    assert "not a PNG, JPEG, WebP or GIF" in refused.value.message


def test_it_refuses_formats_besides_the_four():
    with pytest.raises(ImageRefused) as refused:
        clean_image(image_bytes("BMP"))

    assert refused.value.code == "not_an_image"


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_it_refuses_a_truncated_file(fmt):
    noisy = Image.effect_noise((300, 300), 64).convert("RGB")  # noise: nothing compresses it away
    output = io.BytesIO()
    noisy.save(output, fmt)
    whole = output.getvalue()

    with pytest.raises(ImageRefused) as refused:
        clean_image(whole[: len(whole) // 2])

    assert refused.value.code == "corrupt"


def test_it_refuses_a_decompression_bomb():
    bomb = png_declaring(30_000, 30_000)
    assert len(bomb) < 10_000

    with pytest.raises(ImageRefused) as refused:
        clean_image(bomb)

    assert refused.value.code == "too_many_pixels"
    assert "megapixels" in refused.value.message


@override_settings(CHAT_IMAGE_MAX_PIXELS=1000)
def test_it_refuses_more_pixels_than_the_setting_allows():
    with pytest.raises(ImageRefused) as refused:
        clean_image(image_bytes(size=(40, 40)))

    assert refused.value.code == "too_many_pixels"


@override_settings(CHAT_IMAGE_MAX_BYTES=2048)
def test_it_refuses_a_huge_image_before_reading_it():
    with pytest.raises(ImageRefused) as refused:
        clean_image(b"\x89PNG" + b"\x00" * 5000)

    assert refused.value.code == "too_large"
    assert "at most 2.0\xa0KB" in refused.value.message


def test_it_refuses_an_empty_file():
    with pytest.raises(ImageRefused) as refused:
        clean_image(b"")

    assert refused.value.code == "empty"


@override_settings(CHAT_IMAGE_MAX_COUNT=2)
def test_it_refuses_more_images_than_a_message_may_carry():
    check_count(2)
    with pytest.raises(ImageRefused) as refused:
        clean_images([image_bytes()] * 3)

    assert refused.value.code == "too_many"


def test_it_describes_the_size_and_main_colour():
    assert describe(image_bytes(size=(640, 480))) == "a 640×480 image, mostly red"
    assert describe(image_bytes("JPEG", size=(30, 90), colour=(20, 60, 210))) == "a 30×90 image, mostly blue"
    assert describe(image_bytes(colour=(0, 0, 0, 0))) == "a 64×48 image, mostly transparent"


def test_it_round_trips_data_urls():
    data = image_bytes()
    url = to_data_url(data, "image/png")

    assert url.startswith("data:image/png;base64,")
    assert data_url_size(url) == len(data)
    assert from_data_url(url) == ("image/png", data)
    assert image_size(data) == (64, 48)


def test_it_refuses_bad_and_oversized_data_urls():
    with pytest.raises(ImageRefused) as not_a_data_url:
        from_data_url("https://example.com/cat.png")
    with pytest.raises(ImageRefused) as bad_base64:
        from_data_url("data:image/png;base64,@@@@")
    with pytest.raises(ImageRefused) as too_large:
        from_data_url(to_data_url(b"x" * 3000, "image/png"), limit=1000)

    assert (not_a_data_url.value.code, bad_base64.value.code, too_large.value.code) == (
        "bad_data_url",
        "bad_data_url",
        "too_large",
    )


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
@override_settings(CHAT_IMAGE_MAX_PIXELS=200_000_000)
def test_it_refuses_what_pillow_only_warns_about():
    with pytest.raises(ImageRefused) as refused:
        clean_image(png_declaring(10_000, 10_000))  # 100 megapixels: between Pillow's limit and twice that

    assert refused.value.code == "too_many_pixels"
