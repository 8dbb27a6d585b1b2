skopeo --version
