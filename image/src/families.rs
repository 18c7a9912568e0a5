//! Address family names of the `net` rule: Linux's AF_* names, lower-case and
//! without the prefix. Numbers come from the libc crate.

/// Canonical names, then aliases (`local` is `unix`, `route` is `netlink`).
pub const FAMILIES: &[(&str, i32)] = &[
    ("unix", libc::AF_UNIX),
    ("inet", libc::AF_INET),
    ("ax25", libc::AF_AX25),
    ("ipx", libc::AF_IPX),
    ("appletalk", libc::AF_APPLETALK),
    ("netrom", libc::AF_NETROM),
    ("bridge", libc::AF_BRIDGE),
    ("atmpvc", libc::AF_ATMPVC),
    ("x25", libc::AF_X25),
    ("inet6", libc::AF_INET6),
    ("rose", libc::AF_ROSE),
    ("netbeui", libc::AF_NETBEUI),
    ("security", libc::AF_SECURITY),
    ("key", libc::AF_KEY),
    ("netlink", libc::AF_NETLINK),
    ("packet", libc::AF_PACKET),
    ("ash", libc::AF_ASH),
    ("econet", libc::AF_ECONET),
    ("atmsvc", libc::AF_ATMSVC),
    ("rds", libc::AF_RDS),
    ("sna", libc::AF_SNA),
    ("irda", libc::AF_IRDA),
    ("pppox", libc::AF_PPPOX),
    ("wanpipe", libc::AF_WANPIPE),
    ("llc", libc::AF_LLC),
    ("ib", libc::AF_IB),
    ("mpls", libc::AF_MPLS),
    ("can", libc::AF_CAN),
    ("tipc", libc::AF_TIPC),
    ("bluetooth", libc::AF_BLUETOOTH),
    ("iucv", libc::AF_IUCV),
    ("rxrpc", libc::AF_RXRPC),
    ("isdn", libc::AF_ISDN),
    ("phonet", libc::AF_PHONET),
    ("ieee802154", libc::AF_IEEE802154),
    ("caif", libc::AF_CAIF),
    ("alg", libc::AF_ALG),
    ("nfc", libc::AF_NFC),
    ("vsock", libc::AF_VSOCK),
    // Not in the libc crate: numbers from <linux/socket.h>.
    ("kcm", 41),
    ("qipcrtr", 42),
    ("xdp", libc::AF_XDP),
    ("local", libc::AF_LOCAL),
    ("route", libc::AF_ROUTE),
];

pub fn family_number(name: &str) -> Option<u16> {
    FAMILIES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, number)| *number as u16)
}

/// The canonical name of a family number.
pub fn family_name(number: u16) -> Option<&'static str> {
    FAMILIES
        .iter()
        .find(|(_, n)| *n == i32::from(number))
        .map(|(name, _)| *name)
}
