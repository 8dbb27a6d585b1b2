cd x-oci && for b in blobs/sha256/*; do printf '%s %s ' "$(stat -c %s $b)" "$b"; file -b $b 2>/dev/null || echo; done
