# SPDX-License-Identifier: GPL-2.0
#
# Sphinx configuration of the kvmshare documentation (Debian's
# python3-sphinx). The lint suite builds it with warnings as errors:
#   sphinx-build -W -b html Documentation build/doc
project = 'kvmshare'
master_doc = 'index'
# Documentation/ABI is in the kernel's ABI format, not reStructuredText.
exclude_patterns = ['ABI']
html_theme = 'alabaster'
