"""Official download locations, pinned sha256, resumable verified downloads.

Every file lands at its contract path under the data directory. A file is written through
``PATH.part`` (resumed with an HTTP Range request when the server allows it), verified
against its pinned sha256 and only then renamed into place; a mismatch is an error and
the file is never used: it is kept aside as ``PATH.sha256-mismatch`` (not deleted), so
it can be inspected, and the next run downloads afresh. Archives (RACE, MLQA, TyDiQA's split dev set, Belebele) are unpacked
into their dataset folder after verification (Belebele's top ``Belebele/`` folder dropped,
so its files are ``belebele/{FLORES}.jsonl``); an archive with a member that is absolute,
holds ``..``, or is a link or a device is refused before anything is unpacked, so nothing
lands outside the dataset folder. Files whose hash has not been pinned yet are
refused unless ``allow_unpinned`` (their hash is then printed so it can be pinned). Where no
public download exists (AdvRACE's train perturbation sets, which combine.py reads but the
repository does not hold), the tool prints what to place where.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import pathlib
import shutil
import stat
import tarfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
import zlib
from typing import Callable, Iterable

from mrc_jax.data import catalog, languages
from mrc_jax.data.sources import advrace

CHUNK = 1 << 20


@dataclasses.dataclass(frozen=True)
class RemoteFile:
  url: str
  path: str  # where it lands, relative to the data directory
  sha256: str | None  # None: not pinned yet
  unpack_into: str | None = None  # archives: folder (relative) to unpack into
  unpack_from: str | None = None  # archives: top folder whose contents land in unpack_into


@dataclasses.dataclass(frozen=True)
class ManualFile:
  path: str
  instructions: str


# sha256 of the upstream files, pinned from the unmodified releases (the git blobs of the
# deepmind/xquad, cambridgeltl/xcopa, mhardalov/exams-qa, nlpdata/dream, nlpdata/c3 and
# elleryjsmith/UCLMCTest repositories).
PINNED = {
  "dream/data/train.json": "90942ddea1b56231a0ad2097dc5f115ce1face1cfb86f029041e5bad38e68566",
  "dream/data/dev.json": "9d5af2e580d809c73872a7dd43fe93d0b07c6f6086b04a9a9a1917603009d961",
  "dream/data/test.json": "d96d7d0752f7eab1ea8f165a582430f35653c428d36633ab4d7f26fc14946c3a",
  "c3/data/c3-m-train.json": "4c84a534f1eec2c72e5f60f0c044cc39e2e42a88df01134e677e03217472d6af",
  "c3/data/c3-m-dev.json": "357d0d8d2a29bc845cbe50e048c263629f5e527b70f24c3e0838c387c8d3cb54",
  "c3/data/c3-m-test.json": "7d8074be56cf574536a3284bc2d6b04d137694d5e5f5b1368143c0cf3e336822",
  "c3/data/c3-d-train.json": "baf81f327dee84c6f451c9a4dd662e6193c67473b8791ffb72cce75cdb528f20",
  "c3/data/c3-d-dev.json": "8c7054930a40aeb288ad7c51c42fa93d54aef678ccab29c75d46a7432f4f6278",
  "c3/data/c3-d-test.json": "e9920491b31f9d00ecf31e51727b495dd6b0d05f4a96f273a343e81b6775a8f0",
  "mctest/mc160.train.tsv": "2af70eea8946d38ce3588270cca440b2b838d04a047206fdc97ea8fe7eebc640",
  "mctest/mc160.train.ans": "5d146ba92870076773e6ff5baffe64caf786d901ea1fb92c1bd924847205fe26",
  "mctest/mc160.dev.tsv": "5fdab82ac15426b2e959c12a8c2cb681f10f9036ea4aa2f5a99d167f0a390354",
  "mctest/mc160.dev.ans": "475f8788013296115a6916dff16f903433bc713086127d02fa03062534e1e298",
  "mctest/mc160.test.tsv": "c3e836f19f8aeefc4996234d708551bc3a4d53c8f8add61abc7955a2b2d87943",
  "mctest/mc160.test.ans": "2991731c0e627e85d0cab7947f8a4c81791456d4ffcb7375f3ffeeab5a6ca447",
  "mctest/mc500.train.tsv": "a7cae2c8ac67d3965865683223ffbb11ff6452322c6f72311a6fb633c9686fd6",
  "mctest/mc500.train.ans": "7a9108e95a75d9d803680f9d98f698145dd1e4f7a61adda1a6a2f2acc52d4921",
  "mctest/mc500.dev.tsv": "1fa8efa79794573b8ef077c0c7bb4858dc5f0223a9453b7fc0ba610312dc3d84",
  "mctest/mc500.dev.ans": "2cd0d4295850b0abefbdca66779b5791ce2a82f5383290399c3b0c66541de717",
  "mctest/mc500.test.tsv": "40344d3a6c6e23a2ef3ee67a76280dd5c4fdc290d1e9aba32d58b92a7f80d430",
  "mctest/mc500.test.ans": "f348cd47681ec2cb03429c2de6448519d4c63f39577fe2ef5f0dfb19692c5908",
  "xquad/xquad.ar.json": "abdabd7afed5c635d99cca0f3f0d0c9d9ed0bc77451e963c2e4e0638c29e486d",
  "xquad/xquad.de.json": "990b5d746746ed65ed4702ea5f35f99ffa4e2f1c390c07d003642acd937916f9",
  "xquad/xquad.el.json": "821cf0f88e73fa258fd2f548b19b6ec39f7025059e16f6f9fc8cd797c9c3663e",
  "xquad/xquad.en.json": "e4c57d1c9143aaa1c5d265ba5987a65f4e69528d2a98f29d6e75019b10344f29",
  "xquad/xquad.es.json": "dcbae93ec3a9f4b9e78fd834a171d6f96c1a875e10e15b7530b7e4ef4971e37e",
  "xquad/xquad.hi.json": "df2cce3532b37e9beb8979704b5c9a4bf874358f105395a298b89427b43b9d24",
  "xquad/xquad.ro.json": "94f8d54e93ad2b7dd2e76dd921a666b5b8eff2d4379df9f179c42b445f09643f",
  "xquad/xquad.ru.json": "208d5b1aa154c52b1b5c5eda16281e455e8fd198cdb9af3f469f0d6037d973bf",
  "xquad/xquad.th.json": "5cdda11d0e1e075f7872abf4e6ae830388ce7f617964d542308e9ae4257e0f43",
  "xquad/xquad.tr.json": "92179a564774b7696100d144c1e10870d0a966b6fccbdd254a65b9d2ab1971cc",
  "xquad/xquad.vi.json": "f619a1eb11fb42d3ab0834259e488a65f585447ef6154437bfb7199d85161a04",
  "xquad/xquad.zh.json": "691d0b3359bc6b8faa8de931dfdfe21d50a65861ae348e32a0d1a0190b0c8835",
  "xcopa/et/test.et.jsonl": "f670f3f726342fa3ccd6f844b72d378ed5d0a9a71bd152e6b3607d402eaafa92",
  "xcopa/et/val.et.jsonl": "c6d8f33c11e968fe519d5ddbb61769a73a5ac58ac889060df2fdf5e8a54d6a3c",
  "xcopa/ht/test.ht.jsonl": "ec4a5502e190a51fef4d9cb2080164726772b2d46f7a51c2b86f56748d303428",
  "xcopa/ht/val.ht.jsonl": "022462ff8730fa9345e91e3d174fa346da328d2e7a1225a5938e9897697d61f5",
  "xcopa/id/test.id.jsonl": "b6fe1cfc10bcf02f724dddf876d01df370be0a049cdf1ebf7be8f34504ff66da",
  "xcopa/id/val.id.jsonl": "b3ac8c87c516d64c05ee39becc038ae747b1522010f385796f6c19019f75c77c",
  "xcopa/it/test.it.jsonl": "33564a0dbefc9ff3a7dc868d9a9718d7aaaf7fb136879ae4d2ba022f311f8a88",
  "xcopa/it/val.it.jsonl": "f8389021d6595ef994ed8ff163dfddbcc3f5473b4e7b4803745fb98a7ecd1031",
  "xcopa/qu/test.qu.jsonl": "ac20d5cd67545c41e2fa2e187e88ba4d4c2d7ece1a6489041d44113a5553bd7f",
  "xcopa/qu/val.qu.jsonl": "9e3306acace7bb39c35d20984f2aeca7aa2619af00871ed4743b89f950f7572d",
  "xcopa/sw/test.sw.jsonl": "4ca583c40f9ac045a9b6114fc1f052b0f4ca7402e7a78f567c32a7d8246aa273",
  "xcopa/sw/val.sw.jsonl": "e35fb416b7b9557bcede9987a53d56895c04f3608817d3326da09c52082fbfc5",
  "xcopa/ta/test.ta.jsonl": "ae282423e45f0aed4174cea7594d200214a66b9c721b60f74a21fb2d5adeaf45",
  "xcopa/ta/val.ta.jsonl": "fd22e97aab22d431a14d569fb36de4c6a2fe48ee871a1cbf5fab797176b4e9ee",
  "xcopa/th/test.th.jsonl": "63030f192c4fd8b3c066a8954203d5cdd57d803e8e1069fcca97ff0e7b669423",
  "xcopa/th/val.th.jsonl": "b4c8ae4d5392e7e74667a366c5ed2e39729d67522c1bd35d82e6473505236d47",
  "xcopa/tr/test.tr.jsonl": "1f0152af30bb46acccd0db14ecfe29014c1770c09b0af9b377e15bb4837178ec",
  "xcopa/tr/val.tr.jsonl": "879848162ac5f614f4569c99d37e03bb66034c27684968643371c6c9662bc812",
  "xcopa/vi/test.vi.jsonl": "24cb28827066abb00a2f4004d86c447c4a30a9edb17938b26b61fb2385f94170",
  "xcopa/vi/val.vi.jsonl": "6f804ec3c25b12a3d51f58e338b631bc1b45e7223b15481f8593923e0bdb26fa",
  "xcopa/zh/test.zh.jsonl": "c9b42590399214b9f066adacac2465d7286f5e590181fe6bfd7f6139531b83d4",
  "xcopa/zh/val.zh.jsonl": "8f638466c196342104bdbe9276e7d91fe0abcc044e9a9ad715f30c8ad618bcdd",
  "xcopa/data-gmt/et/test.et.jsonl": "f838ddfcabb8c51bd99807fb33ce025b2443e45af04d4879f7a7783a089c216f",
  "xcopa/data-gmt/et/val.et.jsonl": "9c7b07788aafab13ec2ecd927cd93a43308be6c64fcb5e7e4f38a461a2019380",
  "xcopa/data-gmt/ht/test.ht.jsonl": "1030777d68eb75e9f8336a869707c6eed320be5f395699f5d563beb107df9de5",
  "xcopa/data-gmt/ht/val.ht.jsonl": "c717513976848eca7a2c8fcfdf5211c4b2057948a0152f9fba1672c448c689e6",
  "xcopa/data-gmt/id/test.id.jsonl": "4b9413c2304d9105b69537eb193ff8f6c67b8b0327355d48d687faefde9068a5",
  "xcopa/data-gmt/id/val.id.jsonl": "16c1e01616d60c8f7490a812994623d373e3b2c9e93df990e9fc0025db24e9d7",
  "xcopa/data-gmt/it/test.it.jsonl": "595bf079d660d971c8e459ddac381d30dd020a2b8ebfe69454561a548ee1837e",
  "xcopa/data-gmt/it/val.it.jsonl": "f14d3322f40a16a6de45bb00775fd53271ca9b593dcd411717d8b8340895df48",
  "xcopa/data-gmt/sw/test.sw.jsonl": "df7fb2ad5331c12783a6f28666df27f7691afd44374decd3994e0dcc5989cbff",
  "xcopa/data-gmt/sw/val.sw.jsonl": "4484478c892e9312565b5e5db823eeaaaa7397876e8fdc9703623e5113c3174f",
  "xcopa/data-gmt/ta/test.ta.jsonl": "50bf7599b45cab9b4dc302e0f9006ee0f14c2a7b416dca1659886410e5278e5c",
  "xcopa/data-gmt/ta/val.ta.jsonl": "68399883854db75d971585374b674282124cc9fd092d78838cd8ef223f845ced",
  "xcopa/data-gmt/th/test.th.jsonl": "dfcbaefabc7c61595089577302c27bc171a1919600e3c4d1547326f8ac088b6c",
  "xcopa/data-gmt/th/val.th.jsonl": "6b673db0c71f225a0bfb045329ece7552566a5ff684315b41cec83ad616ca6ea",
  "xcopa/data-gmt/tr/test.tr.jsonl": "9490997c087645a61d902b827f54191045bcabba7f83f52a86154190002cef9c",
  "xcopa/data-gmt/tr/val.tr.jsonl": "bb1864f421dd51db7af9f2ebf7ec96bb79885aed51c2b377547ee9b46d710132",
  "xcopa/data-gmt/vi/test.vi.jsonl": "4a4b4f9b776b815200bcb097b3c0f017809e06c52ff8bd4b70aceaf3b1355d9f",
  "xcopa/data-gmt/vi/val.vi.jsonl": "7d62163740d3a56518bbf8ddd501ff363916bb0c3b4256a280a19d79728a2cf0",
  "xcopa/data-gmt/zh/test.zh.jsonl": "af1cf3a0179530cbf9a98c552baa1817829aeb919fc0b13fe5cfcc8de6c6192e",
  "xcopa/data-gmt/zh/val.zh.jsonl": "091e760668f3f8ad678df708d1dbe0c30a59c4b26aefca997568b683358fa080",
  "exams/cross-lingual/dev_bg.jsonl.tar.gz": "b5330d5643b59c14b968c2c41e33745cc96cafe72dafaa4dea5b53411f344169",
  "exams/cross-lingual/dev_hr.jsonl.tar.gz": "c6e4353d295cef50ec973a52eb5162be3e75771740fa361b5b6583133a9b07d6",
  "exams/cross-lingual/dev_hu.jsonl.tar.gz": "4d1165dcba7af44e54fb1afe86f17b905b11c2fcb5e3f030dc0490ccf0c3d4e0",
  "exams/cross-lingual/dev_it.jsonl.tar.gz": "e6323558ff746211a3f534c83d8ba578cb1422df80bec486f2b19ac2a1f0a71c",
  "exams/cross-lingual/dev_mk.jsonl.tar.gz": "58ad89e802865ae68fada9d3591326aba6502d1761667764d6be436e9d02f786",
  "exams/cross-lingual/dev_pl.jsonl.tar.gz": "37a882d92ee692052ff46e5fe74a88fae659ef25a67e8ff4baae6d50c8e7b7bf",
  "exams/cross-lingual/dev_pt.jsonl.tar.gz": "91d664be240dc8e60f7a22fcac2123e03a8067e9317b04ac5cf11c94ea914c71",
  "exams/cross-lingual/dev_sq.jsonl.tar.gz": "344715896df9a839ce9198052ff8b37bfe1a5c5bafb7bbbb956c89ea6d12e1ac",
  "exams/cross-lingual/dev_sr.jsonl.tar.gz": "5011570a2fe09c131d3d2ad44d1abd8a44ebe53aff376861f7b75e363c2f14cd",
  "exams/cross-lingual/dev_tr.jsonl.tar.gz": "40d7ff9c442695f204120c3f26d04420845630881933ee3a657139cc1d4eb2c1",
  "exams/cross-lingual/dev_vi.jsonl.tar.gz": "a8f0634b9bff14d4d373b4004b3f6db53782b9b6fe2f2928bd142e2163189853",
  "exams/cross-lingual/test.jsonl.tar.gz": "c816ea24d3c43b8f52124439d6f848f7052e87ced01aee9347bf95306004802b",
  "exams/cross-lingual/train_bg.jsonl.tar.gz": "94f180851e332fd15faef90664084d17857b45d3a01b16224b2b4e8140596ad7",
  "exams/cross-lingual/train_hr.jsonl.tar.gz": "5573999ce8a7f0d5c8b4d7839307ed0fb56ee17c55c2878405ca97b0e69fed27",
  "exams/cross-lingual/train_hu.jsonl.tar.gz": "ad1c319a05634126d06e01f9b4cd53a957a2d83eced656bde6e4bdb8cf031306",
  "exams/cross-lingual/train_it.jsonl.tar.gz": "ed2b7999725f7c392c82f3d37b87b0b51b7e550f607a26feacb38ed95d74205f",
  "exams/cross-lingual/train_mk.jsonl.tar.gz": "7737847560aa2862a71a2a542efe70ecd0809f474e477e93c31e34aa00ba429f",
  "exams/cross-lingual/train_pl.jsonl.tar.gz": "a8ae8bb02400ae2242a2b7b7ce03434579b3059dc8c485180613aa046c23741f",
  "exams/cross-lingual/train_pt.jsonl.tar.gz": "660dafd1078e31359a8dcf5b9cef1487ad8f9a3c4e68e8ffcf173af0b56dcc22",
  "exams/cross-lingual/train_sq.jsonl.tar.gz": "01631d80688ff6ad7b8bf9ca7533921a62022acdf5251e33ca4180cc3434d8e0",
  "exams/cross-lingual/train_sr.jsonl.tar.gz": "1dd7d863aab01103909b3fbfcd86c4290d644f5ff58d4bd9e131fb8f269c60a7",
  "exams/cross-lingual/train_tr.jsonl.tar.gz": "0c15fa0c058769dea2e013ba7f87797d0e7b4bc82d2ca22a3bc76918e4a838d0",
  "exams/cross-lingual/train_vi.jsonl.tar.gz": "f29c3550e9b09186493e59d199e684b41c78940f6a95b19e64f8226110100768",
  "exams/cross-lingual/with_paragraphs/dev_bg_with_para.jsonl.tar.gz": "6bf4ac10dee659c6271f5585d959f16aa0559f3b69686af3af2a4105979c87dc",
  "exams/cross-lingual/with_paragraphs/dev_hr_with_para.jsonl.tar.gz": "3c8d869622fe255e254b728270826c25af06989cf3c917f5a5aee32ab2f05f0f",
  "exams/cross-lingual/with_paragraphs/dev_hu_with_para.jsonl.tar.gz": "e8602a6d66650df88e3f9291c421dc9dfdb23175bfb4528a6642e49e305b1aff",
  "exams/cross-lingual/with_paragraphs/dev_it_with_para.jsonl.tar.gz": "ebbf36239b726b01d542386d86f204b7f0b589ea7b75f115720010ac50360f64",
  "exams/cross-lingual/with_paragraphs/dev_mk_with_para.jsonl.tar.gz": "954c077c592c9734ad5d2970962e7fd7148c81922eeab87803ad298428123d18",
  "exams/cross-lingual/with_paragraphs/dev_pl_with_para.jsonl.tar.gz": "2aeb2f3558ddd97651d24cc8270cacdc88f89c6fa631aa5c2aace252c1519b13",
  "exams/cross-lingual/with_paragraphs/dev_pt_with_para.jsonl.tar.gz": "61f4fd18d4ecc5306ca9e338dbddc0879f5e1bfb9c5181e50f3805a3535bd23e",
  "exams/cross-lingual/with_paragraphs/dev_sq_with_para.jsonl.tar.gz": "5813304c6cd942572c53164f49d7606066352b50fc5dd3a2b8f8a92891a2226b",
  "exams/cross-lingual/with_paragraphs/dev_sr_with_para.jsonl.tar.gz": "52005dfc3f41283a56d8b299254d9393878fc7f6bda5f6a3ec2365038e804d71",
  "exams/cross-lingual/with_paragraphs/dev_tr_with_para.jsonl.tar.gz": "21071665733bb691f65aa6731cd852a885e4be111b4d60e6947b70e4e093cc80",
  "exams/cross-lingual/with_paragraphs/dev_vi_with_para.jsonl.tar.gz": "1b9e280429d73d51d614e4bc55b53fdef82b3a6ca2fb13234d1f79f846e20c1a",
  "exams/cross-lingual/with_paragraphs/train_hu_with_para.jsonl.tar.gz": "50dcd5336e5f7af65d104526e09492aa9d13e652c12e9f909ed2099a5ff27307",
  "exams/cross-lingual/with_paragraphs/train_it_with_para.jsonl.tar.gz": "9bd3349211ba8215e7e7632602886dee2676a4df3ae6cc1513d11db9bcf31a8c",
  "exams/cross-lingual/with_paragraphs/train_pl_with_para.jsonl.tar.gz": "9dbfd98091a174f535fd8e8b8f272ef1abdc49942152ea868a0b0e64485704f6",
  "exams/cross-lingual/with_paragraphs/train_pt_with_para.jsonl.tar.gz": "be700ad7b821e6b04477d7b2ed3d8918567b670ca06512e863acadadb227b61a",
  "exams/cross-lingual/with_paragraphs/train_sq_with_para.jsonl.tar.gz": "76df84c639dd25a00e08c671da8887c5eb24da04842467e60ebc42a454a1a6bd",
  "exams/cross-lingual/with_paragraphs/train_sr_with_para.jsonl.tar.gz": "99f758ea931a62f5b402d69ad352208c202742be021fc6bb248ce7474edf16fe",
  "exams/cross-lingual/with_paragraphs/train_tr_with_para.jsonl.tar.gz": "0daa166ca4d5540a4c875e309b7854d50720d8ce0728e10cc2205f989921adb4",
  "exams/multilingual/dev.jsonl.tar.gz": "0a6850d000319f748ab6d36c57568c2db41fb5bc0ed7f0cad01fd4c5d1945334",
  "exams/multilingual/test.jsonl.tar.gz": "404fd7db164bd9bd91669228c264ddb594b8586dae3d4b745be5de869d72c985",
  "exams/multilingual/train.jsonl.tar.gz": "13ad2961f5a776b7e4cceba8076d51501ef0547911a3634db47e53af3493a46b",
  "exams/parallel_questions.jsonl": "a6e7a9da316b10e0a0b3c3ae51a74a801f0ed3cd65baaaf72f2a40f014dae3df",
}


def _remote(
  url: str, path: str, unpack_into: str | None = None, unpack_from: str | None = None
) -> RemoteFile:
  return RemoteFile(url, path, PINNED.get(path), unpack_into, unpack_from)


# Each dataset's list is its whole release, as the upstream README / repository lists it.
_EXAMS = "https://github.com/mhardalov/exams-qa/raw/main/data/exams/"
_EXAMS_LANGS = languages.EXAMS_CROSS_LINGUAL
_EXAMS_FILES = (
  [f"multilingual/{s}.jsonl.tar.gz" for s in ("train", "dev", "test")]
  + [f"multilingual/with_paragraphs/{s}_with_para.jsonl.tar.gz" for s in ("train", "dev", "test")]
  + [f"cross-lingual/{s}_{l}.jsonl.tar.gz" for s in ("train", "dev") for l in _EXAMS_LANGS]
  + ["cross-lingual/test.jsonl.tar.gz"]
  + [
    f"cross-lingual/with_paragraphs/{s}_{l}_with_para.jsonl.tar.gz"
    for s in ("train", "dev")
    for l in _EXAMS_LANGS
  ]
  + [
    "cross-lingual/with_paragraphs/test_with_para.jsonl.tar.gz",
    "parallel_questions.jsonl",
    "resolved_hits.tar.gz",
  ]
)
_XCOPA = "https://raw.githubusercontent.com/cambridgeltl/xcopa/master/"
# data-gmt/: the test and validation sets machine-translated to English (no Quechua).
_XCOPA_GMT = tuple(l for l in languages.XCOPA if l != "qu")
_ADVRACE = "https://raw.githubusercontent.com/NoviScl/AdvRACE/master/"
_MLQA = "https://dl.fbaipublicfiles.com/MLQA/"
_TYDIQA = "https://storage.googleapis.com/tydiqa/"
_NLPDATA = "https://raw.githubusercontent.com/nlpdata/"
_MCTEST = "https://raw.githubusercontent.com/elleryjsmith/UCLMCTest/master/datasets/"

DATASETS: dict[str, list[RemoteFile | ManualFile]] = {
  "xquad": [
    _remote(
      f"https://raw.githubusercontent.com/deepmind/xquad/master/xquad.{l}.json",
      f"xquad/xquad.{l}.json",
    )
    for l in languages.XQUAD
  ],
  "xcopa": [
    _remote(f"{_XCOPA}data/{l}/{s}.{l}.jsonl", f"xcopa/{l}/{s}.{l}.jsonl")
    for l in languages.XCOPA
    for s in ("val", "test")
  ]
  + [
    _remote(f"{_XCOPA}data-gmt/{l}/{s}.{l}.jsonl", f"xcopa/data-gmt/{l}/{s}.{l}.jsonl")
    for l in _XCOPA_GMT
    for s in ("val", "test")
  ],
  "exams": [_remote(_EXAMS + f, "exams/" + f) for f in _EXAMS_FILES],
  # The archive holds Belebele/{FLORES}.jsonl; its files land in belebele/.
  "belebele": [
    _remote(
      "https://dl.fbaipublicfiles.com/belebele/Belebele.zip",
      "downloads/Belebele.zip",
      unpack_into="belebele",
      unpack_from="Belebele",
    )
  ],
  "mlqa": [
    _remote(_MLQA + f, "downloads/" + f, unpack_into="mlqa")
    for f in ("MLQA_V1.zip", "mlqa-translate-train.tar.gz", "mlqa-translate-test.tar.gz")
  ],
  # Gold passage task (the catalog's tasks; the dev tarball holds it split by language),
  # then the primary task (about 1.6 GB + 150 MB).
  "tydiqa": [
    _remote(f"{_TYDIQA}v1.1/tydiqa-goldp-v1.1-{s}.json", f"tydiqa/tydiqa-goldp-v1.1-{s}.json")
    for s in ("train", "dev")
  ]
  + [
    _remote(
      f"{_TYDIQA}v1.1/tydiqa-goldp-v1.1-dev.tgz",
      "downloads/tydiqa-goldp-v1.1-dev.tgz",
      unpack_into="tydiqa",
    )
  ]
  + [
    _remote(f"{_TYDIQA}v1.0/tydiqa-v1.0-{s}.jsonl.gz", f"tydiqa/tydiqa-v1.0-{s}.jsonl.gz")
    for s in ("train", "dev")
  ],
  "squad": [
    _remote(f"https://rajpurkar.github.io/SQuAD-explorer/dataset/{f}", f"squad/{f}")
    for f in ("train-v1.1.json", "dev-v1.1.json", "train-v2.0.json", "dev-v2.0.json")
  ],
  "dream": [
    _remote(f"{_NLPDATA}dream/master/data/{s}.json", f"dream/data/{s}.json")
    for s in ("train", "dev", "test")
  ],
  "c3": [
    _remote(f"{_NLPDATA}c3/master/data/c3-{m}-{s}.json", f"c3/data/c3-{m}-{s}.json")
    for m in ("m", "d")
    for s in ("train", "dev", "test")
  ],
  # MCTest's .tsv / .ans release (the .txt copies say the same), as UCLMCTest keeps it.
  "mctest": [
    _remote(f"{_MCTEST}mc{n}.{s}.{e}", f"mctest/mc{n}.{s}.{e}")
    for n in (160, 500)
    for s in ("train", "dev", "test")
    for e in ("tsv", "ans")
  ],
  # Direct link on the RACE page, for non-commercial research use only (its terms).
  "race": [
    _remote(
      "http://www.cs.cmu.edu/~glai1/data/race/RACE.tar.gz",
      "downloads/RACE.tar.gz",
      unpack_into="race",
    )
  ],
  # The test sets are files of the public repository, kept in its layout under advrace/.
  "advrace": [
    _remote(f"{_ADVRACE}{folder}/test_dis.json", f"advrace/{folder}/test_dis.json")
    for folder in catalog.ADVRACE_TEST_SETS.values()
  ]
  + [
    ManualFile(
      f"advrace/{relative}",
      "not in the public NoviScl/AdvRACE repository, which holds the test sets only: its "
      f"Attacks/AddSent/combine.py reads it from the authors' data root as {relative}; "
      "ask the authors (see its README)",
    )
    for relative, _, _, _ in advrace.TRAIN_SETS
  ],
}


class DownloadError(RuntimeError):
  pass


def _keep_aside(path: str) -> str:
  """Move a file whose sha256 differs from its pin out of the way (never deleted)."""
  aside = path.removesuffix(".part") + ".sha256-mismatch"
  os.replace(path, aside)
  return aside


def sha256_of(path: str) -> str:
  digest = hashlib.sha256()
  with open(path, "rb") as f:
    for chunk in iter(lambda: f.read(CHUNK), b""):
      digest.update(chunk)
  return digest.hexdigest()


def _fetch_to_part(url: str, part: str) -> None:
  """Download ``url`` into ``part``, resuming from its current size when possible."""
  have = os.path.getsize(part) if os.path.exists(part) else 0
  request = urllib.request.Request(url)
  if have and url.startswith(("http://", "https://")):
    request.add_header("Range", f"bytes={have}-")
  with urllib.request.urlopen(request, timeout=60) as response:
    resumed = getattr(response, "status", None) == 206
    with open(part, "ab" if resumed else "wb") as out:
      shutil.copyfileobj(response, out, CHUNK)


def mirrored(url: str, mirror: str | None) -> str:
  """``url`` under ``mirror`` (a folder or URL holding HOST/PATH copies), or ``url`` itself."""
  if not mirror:
    return url
  base = mirror if "://" in mirror else pathlib.Path(mirror).absolute().as_uri()
  parts = urllib.parse.urlsplit(url)
  return f"{base.rstrip('/')}/{parts.netloc}{parts.path}"


def fetch(
  remote: RemoteFile,
  data_dir: str,
  *,
  allow_unpinned: bool = False,
  log: Callable[[str], None] = print,
  mirror: str | None = None,
) -> str:
  """Download, verify and place one file (unpacking archives); returns its path."""
  target = os.path.join(data_dir, remote.path)
  # One marker per archive (several may share a folder); it records how it was unpacked,
  # so an archive unpacked another way before is unpacked again.
  done_marker = (
    os.path.join(data_dir, remote.unpack_into, f".{os.path.basename(remote.path)}.unpacked")
    if remote.unpack_into
    else None
  )
  done_text = f"from={remote.unpack_from or ''}\n"
  if os.path.exists(target) and remote.sha256 and sha256_of(target) != remote.sha256:
    aside = _keep_aside(target)
    raise DownloadError(
      f"{target} exists but its sha256 differs from the pinned {remote.sha256}; moved "
      f"aside to {aside}; rerun to download it again"
    )
  if os.path.exists(target) and (done_marker is None or _read(done_marker) == done_text):
    log(f"ok       {remote.path} (already present)")
    return target
  if remote.sha256 is None and not allow_unpinned and not os.path.exists(target):
    raise DownloadError(
      f"{remote.path}: no pinned sha256 for {remote.url}; rerun with "
      "--allow_unpinned to download it unverified (its hash is printed)"
    )
  os.makedirs(os.path.dirname(target), exist_ok=True)
  part = target + ".part"
  if not os.path.exists(target):
    url = mirrored(remote.url, mirror)
    try:
      _fetch_to_part(url, part)
    except (urllib.error.URLError, OSError) as e:
      raise DownloadError(
        f"cannot download {url} ({e}); offline? place the file by hand at {target}"
        + (f" (sha256 {remote.sha256})" if remote.sha256 else "")
      ) from None
    digest = sha256_of(part)
    if remote.sha256 and digest != remote.sha256:
      aside = _keep_aside(part)
      raise DownloadError(
        f"{url}: sha256 {digest} != pinned {remote.sha256}; not used, kept aside as {aside}"
      )
    os.replace(part, target)
    log(f"verified {remote.path} sha256={digest}" + ("" if remote.sha256 else " (unpinned)"))
  if remote.unpack_into:
    count = _unpack(target, os.path.join(data_dir, remote.unpack_into), remote.unpack_from)
    with open(done_marker, "w") as f:
      f.write(done_text)
    log(
      f"unpacked {remote.path} -> {remote.unpack_into}/ ({count} file(s)"
      + (f" from {remote.unpack_from}/)" if remote.unpack_from else ")")
    )
  return target


def _read(path: str) -> str | None:
  if not os.path.exists(path):
    return None
  with open(path) as f:
    return f.read()


def _relocated(name: str, strip: str | None) -> str:
  """Where archive member ``name`` lands: under ``strip/`` it loses that prefix."""
  if strip is None:
    return name
  prefix = strip.rstrip("/") + "/"
  return name[len(prefix) :] if name.startswith(prefix) else name


def _unpack(archive: str, into: str, strip: str | None = None) -> int:
  """Unpack ``archive`` into ``into`` (contents of its ``strip/`` folder moved up, members
  outside it kept as they are); returns the number of files. A missing ``strip/`` folder
  means the release changed its layout, an unreadable archive is corrupt, and a member
  that could land outside ``into`` is refused: each an error before anything is written."""
  try:
    if archive.endswith(".zip"):
      with zipfile.ZipFile(archive) as z:
        infos = z.infolist()
        for info in infos:
          _check_member(archive, info.filename, strip, not stat.S_ISLNK(info.external_attr >> 16))
        files = [i for i in infos if not i.is_dir()]
        _check_strip(archive, [i.filename for i in files], strip)
        os.makedirs(into, exist_ok=True)
        for info in files:
          info.filename = _relocated(info.filename, strip)
          z.extract(info, into)
        return len(files)
    with tarfile.open(archive) as t:
      members = t.getmembers()
      for member in members:
        _check_member(archive, member.name, strip, member.isfile() or member.isdir())
      files = [m for m in members if m.isfile()]
      _check_strip(archive, [m.name for m in files], strip)
      os.makedirs(into, exist_ok=True)

      def relocate(member, path):
        member = member.replace(name=_relocated(member.name, strip), deep=False)
        return tarfile.data_filter(member, path)

      t.extractall(into, members=files, filter=relocate)
      return len(files)
  except (zipfile.BadZipFile, tarfile.TarError, EOFError, zlib.error) as e:
    raise DownloadError(f"{archive}: not a readable archive (corrupt?): {e}") from None


def _check_member(archive: str, name: str, strip: str | None, plain: bool) -> None:
  """Refuse a member that is not a plain file or folder, or whose relocated name is
  absolute or holds ``..``: it could land outside the folder it is unpacked into."""
  if not plain:
    raise DownloadError(f"{archive}: member {name!r} is a link or special file; refused")
  relocated = _relocated(name, strip)
  parts = relocated.replace("\\", "/").split("/")
  if relocated.startswith(("/", "\\")) or ".." in parts or ":" in parts[0]:
    raise DownloadError(
      f"{archive}: member {name!r} would land outside the folder it is unpacked into; refused"
    )


def _check_strip(archive: str, names: list[str], strip: str | None) -> None:
  if strip is not None and not any(n.startswith(strip.rstrip("/") + "/") for n in names):
    raise DownloadError(
      f"{archive}: expected its files under {strip}/, found "
      f"{', '.join(names[:5]) or 'nothing'}; the release layout changed?"
    )


def prepare(
  datasets: Iterable[str],
  data_dir: str,
  *,
  allow_unpinned: bool = False,
  log: Callable[[str], None] = print,
  mirror: str | None = None,
) -> list[str]:
  """Fetch every file of ``datasets``; returns the manual steps still to do (also logged).

  ``mirror``: fetch each file from a local copy of the releases (see :func:`mirrored`).
  Stops at the first file that fails (offline, hash mismatch) with a DownloadError."""
  manual = []
  for name in datasets:
    if name not in DATASETS:
      raise KeyError(f"unknown dataset {name!r}; downloadable: {sorted(DATASETS)}")
    for item in DATASETS[name]:
      if isinstance(item, ManualFile):
        if not os.path.exists(os.path.join(data_dir, item.path)):
          manual.append(
            f"place by hand: {os.path.join(data_dir, item.path)} -- {item.instructions}"
          )
          log(manual[-1])
        continue
      fetch(item, data_dir, allow_unpinned=allow_unpinned, log=log, mirror=mirror)
  return manual
