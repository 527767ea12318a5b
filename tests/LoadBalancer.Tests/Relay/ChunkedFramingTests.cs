using System.Text;
using Berth.LoadBalancer.Relay;

namespace Berth.LoadBalancer.Tests.Relay;

public sealed class ChunkedFramingTests
{
    [Theory]
    [InlineData("5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n", "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n")]
    [InlineData("3\r\nabc\r\n0\r\nX-Trailer: t\r\nY: u\r\n\r\n", "3\r\nabc\r\n0\r\n")]
    [InlineData("A\r\n0123456789\r\n0\r\n\r\n", "A\r\n0123456789\r\n0\r\n")]
    public void Body_EndsWhereItsFramingSays_WhateverTheReads(string body, string forwarded)
    {
        var bytes = Encoding.ASCII.GetBytes(body + "HTTP/1.1 200 OK\r\n");
        for (var size = 1; size <= bytes.Length; size++)
        {
            var framing = default(ChunkedFraming);
            var passed = new List<byte>();
            var offset = 0;
            while (!framing.Done)
            {
                var piece = bytes.AsSpan(offset, Math.Min(size, bytes.Length - offset));
                Assert.True(framing.Read(piece, out var consumed, out var forward));
                passed.AddRange(piece[..forward]);
                offset += consumed;
                Assert.True(consumed == piece.Length || framing.Done);
            }

            // The body ends at its last empty line; what follows (here a next response) is not part of it.
            Assert.Equal(body.Length, offset);
            Assert.Equal(forwarded, Encoding.ASCII.GetString([.. passed]));
        }
    }

    [Theory]
    [InlineData("x\r\n")]
    [InlineData("5\r\nhelloX\r\n")]
    [InlineData("5\nhello\r\n")]
    [InlineData("\r\n")]
    public void MalformedFraming_IsAnError(string body)
    {
        var framing = default(ChunkedFraming);
        Assert.False(framing.Read(Encoding.ASCII.GetBytes(body), out _, out _));
    }
}
